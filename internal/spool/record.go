package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/google/uuid"
)

// Record framing. A segment file is a sequence of records and nothing else:
//
//	magic "\xd5LSR" (4) | payload length (4, LE) | CRC-32C of payload (4, LE) |
//	CRC-32C of the 12 bytes before (4, LE) | payload
//
// The header has its own checksum so that a damaged length is known to be damaged
// before it is used, and a length is believed only up to maxPayload and the bytes left
// in the file: reading garbage never allocates more than the file holds.
const (
	headerSize = 16
	maxPayload = 256 << 20

	// An ack file is a sequence of fixed-size slots, one per acknowledged batch:
	//
	//	magic "\xd5LSA" (4) | batch id (16) | CRC-32C of the 20 bytes before (4, LE)
	ackSize = 24
)

var (
	recordMagic = [4]byte{0xd5, 'L', 'S', 'R'}
	ackMagic    = [4]byte{0xd5, 'L', 'S', 'A'}
	castagnoli  = crc32.MakeTable(crc32.Castagnoli)
)

func checksum(p []byte) uint32 { return crc32.Checksum(p, castagnoli) }

// putHeader fills rec[:headerSize] for the payload rec[headerSize:].
func putHeader(rec []byte) {
	h := rec[:headerSize]
	copy(h, recordMagic[:])
	binary.LittleEndian.PutUint32(h[4:], uint32(len(rec)-headerSize))
	binary.LittleEndian.PutUint32(h[8:], checksum(rec[headerSize:]))
	binary.LittleEndian.PutUint32(h[12:], checksum(h[:12]))
}

// errDamaged marks bytes that are not a whole, verified record.
var errDamaged = errors.New("damaged record")

// parseHeader checks a record header and returns its payload length and checksum.
// left is the number of bytes of the file after the header; a length beyond it is
// a torn or damaged record.
func parseHeader(h []byte, left int64) (n int, sum uint32, err error) {
	if len(h) < headerSize {
		return 0, 0, fmt.Errorf("%w: torn header (%d of %d bytes)", errDamaged, len(h), headerSize)
	}
	if [4]byte(h[:4]) != recordMagic {
		return 0, 0, fmt.Errorf("%w: no record magic", errDamaged)
	}
	if checksum(h[:12]) != binary.LittleEndian.Uint32(h[12:]) {
		return 0, 0, fmt.Errorf("%w: header checksum mismatch", errDamaged)
	}
	length := binary.LittleEndian.Uint32(h[4:])
	switch {
	case length < payloadPrefix || length > maxPayload:
		return 0, 0, fmt.Errorf("%w: payload length %d out of range", errDamaged, length)
	case int64(length) > left:
		return 0, 0, fmt.Errorf("%w: torn payload (%d of %d bytes)", errDamaged, left, length)
	}
	return int(length), binary.LittleEndian.Uint32(h[8:]), nil
}

// readRecord reads and verifies the record at off in a file of size bytes, reusing
// buf for the payload. It returns the payload (aliasing buf) and the record's length.
// An error wrapping errDamaged means the bytes there are not a valid record; any other
// error is an I/O failure.
func readRecord(r io.ReaderAt, off, size int64, buf []byte) (payload []byte, recLen int64, err error) {
	var h [headerSize]byte
	hn := min(int64(headerSize), size-off)
	if hn < headerSize {
		if _, err := r.ReadAt(h[:hn], off); err != nil && !errors.Is(err, io.EOF) {
			return nil, 0, err
		}
		return nil, 0, fmt.Errorf("%w: torn header (%d of %d bytes)", errDamaged, hn, headerSize)
	}
	if _, err := r.ReadAt(h[:], off); err != nil {
		return nil, 0, err
	}
	n, sum, err := parseHeader(h[:], size-off-headerSize)
	if err != nil {
		return nil, 0, err
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	payload = buf[:n]
	if _, err := r.ReadAt(payload, off+headerSize); err != nil {
		return nil, 0, err
	}
	if checksum(payload) != sum {
		return nil, 0, fmt.Errorf("%w: payload checksum mismatch", errDamaged)
	}
	return payload, headerSize + int64(n), nil
}

// ackSlot returns the ack file slot for id.
func ackSlot(id uuid.UUID) [ackSize]byte {
	var s [ackSize]byte
	copy(s[:], ackMagic[:])
	copy(s[4:], id[:])
	binary.LittleEndian.PutUint32(s[20:], checksum(s[:20]))
	return s
}

// parseAckSlot returns the id in a slot, or false when the slot is torn or damaged.
func parseAckSlot(s []byte) (uuid.UUID, bool) {
	if len(s) != ackSize || [4]byte(s[:4]) != ackMagic ||
		checksum(s[:20]) != binary.LittleEndian.Uint32(s[20:]) {
		return uuid.Nil, false
	}
	return uuid.UUID(s[4:20]), true
}
