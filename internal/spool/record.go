package spool

import (
	"encoding/binary"

	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/segment"
)

// Segments are files of records framed by internal/segment, back to back, with the
// spool's magic "\xd5LSR":
//
//	magic (4) | payload length (4, LE) | CRC-32C of payload (4, LE) |
//	CRC-32C of the 12 bytes before (4, LE) | payload
const (
	headerSize = segment.HeaderSize
	maxPayload = 256 << 20

	// An ack file is a sequence of fixed-size slots, one per acknowledged batch:
	//
	//	magic "\xd5LSA" (4) | batch id (16) | CRC-32C of the 20 bytes before (4, LE)
	ackSize = 24
)

var (
	records = segment.Format{
		Magic:      [4]byte{0xd5, 'L', 'S', 'R'},
		MinPayload: payloadPrefix,
		MaxPayload: maxPayload,
	}
	ackMagic = [4]byte{0xd5, 'L', 'S', 'A'}
)

// errDamaged marks bytes that are not a whole, verified record.
var errDamaged = segment.ErrDamaged

// ackSlot returns the ack file slot for id.
func ackSlot(id uuid.UUID) [ackSize]byte {
	var s [ackSize]byte
	copy(s[:], ackMagic[:])
	copy(s[4:], id[:])
	binary.LittleEndian.PutUint32(s[20:], segment.Checksum(s[:20]))
	return s
}

// parseAckSlot returns the id in a slot, or false when the slot is torn or damaged.
func parseAckSlot(s []byte) (uuid.UUID, bool) {
	if len(s) != ackSize || [4]byte(s[:4]) != ackMagic ||
		segment.Checksum(s[:20]) != binary.LittleEndian.Uint32(s[20:]) {
		return uuid.Nil, false
	}
	return uuid.UUID(s[4:20]), true
}
