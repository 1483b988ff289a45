// Package segment frames records in the segment files of loendur's on-disk logs: the
// spool (internal/spool) and the accept log (internal/acceptlog). It owns the record
// header and its checksums, reading a record back and verifying it, scanning a segment
// past torn or damaged bytes, segment file names, and making a folder's entries
// durable. What the payloads mean, when to fsync, and what to do about damage belong to
// each log.
//
// # Record
//
//	magic (4) | payload length (4, LE) | CRC-32C of payload (4, LE) |
//	CRC-32C of the 12 bytes before (4, LE) | payload
//
// Each log has its own magic, so that a file of one is never read as the other. The
// header has its own checksum, so that a damaged length is known to be damaged before it
// is used, and a length is believed only up to Format.MaxPayload and the bytes left in
// the file: reading garbage never allocates more than the file holds. Seal writes the
// magic last: a record whose writing into a mapped file was cut short has no magic,
// and reads as nothing rather than as damage.
package segment

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// HeaderSize is the size of a record's header.
const HeaderSize = 16

// Format is one log's record framing.
type Format struct {
	Magic      [4]byte
	MinPayload int // a shorter payload is damage
	MaxPayload int // a longer payload is damage; the writer must not exceed it
	// Align, when above 1, is the multiple of bytes at which records start, zeros
	// between them (see Scan); 0 or 1: back to back.
	Align int
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Checksum is the CRC-32C of p, the checksum of every record and slot on disk.
func Checksum(p []byte) uint32 { return crc32.Checksum(p, castagnoli) }

// ErrDamaged marks bytes that are not a whole, verified record.
var ErrDamaged = errors.New("damaged record")

// Seal fills the header of rec, whose payload follows the first HeaderSize bytes. The
// magic is written last (see the package comment).
func (f Format) Seal(rec []byte) {
	var h [12]byte
	copy(h[:], f.Magic[:])
	binary.LittleEndian.PutUint32(h[4:], uint32(len(rec)-HeaderSize))
	binary.LittleEndian.PutUint32(h[8:], Checksum(rec[HeaderSize:]))
	binary.LittleEndian.PutUint32(rec[12:], headerChecksum(&h))
	copy(rec[4:12], h[4:])
	copy(rec[:4], h[:4])
}

// headerChecksum is Checksum(h[:]) a byte at a time: handed to crc32, h would move to
// the heap, an allocation for every record sealed.
func headerChecksum(h *[12]byte) uint32 {
	crc := ^uint32(0)
	for _, b := range h {
		crc = castagnoli[byte(crc)^b] ^ crc>>8
	}
	return ^crc
}

// Next returns the offset at which the record after one of recLen bytes at off
// starts: right behind it, or at the next multiple of Align.
func (f Format) Next(off, recLen int) int {
	end := off + recLen
	if f.Align > 1 {
		end = (end + f.Align - 1) / f.Align * f.Align
	}
	return end
}

// header checks a record header and returns its payload length and checksum. left is
// the number of bytes of the file after the header; a length beyond it is a torn or
// damaged record.
func (f Format) header(h []byte, left int64) (n int, sum uint32, err error) {
	if len(h) < HeaderSize {
		return 0, 0, fmt.Errorf("%w: torn header (%d of %d bytes)", ErrDamaged, len(h), HeaderSize)
	}
	if [4]byte(h[:4]) != f.Magic {
		return 0, 0, fmt.Errorf("%w: no record magic", ErrDamaged)
	}
	if Checksum(h[:12]) != binary.LittleEndian.Uint32(h[12:]) {
		return 0, 0, fmt.Errorf("%w: header checksum mismatch", ErrDamaged)
	}
	length := binary.LittleEndian.Uint32(h[4:])
	switch {
	case int64(length) < int64(f.MinPayload) || int64(length) > int64(f.MaxPayload):
		return 0, 0, fmt.Errorf("%w: payload length %d out of range", ErrDamaged, length)
	case int64(length) > left:
		return 0, 0, fmt.Errorf("%w: torn payload (%d of %d bytes)", ErrDamaged, left, length)
	}
	return int(length), binary.LittleEndian.Uint32(h[8:]), nil
}

// ReadAt reads and verifies the record at off in a file of size bytes, reusing buf for
// the payload. It returns the payload (aliasing buf when it is large enough) and the
// record's length. An error wrapping ErrDamaged means the bytes there are not a valid
// record; any other error is an I/O failure.
func (f Format) ReadAt(r io.ReaderAt, off, size int64, buf []byte) (payload []byte, recLen int64, err error) {
	var h [HeaderSize]byte
	if hn := min(int64(HeaderSize), size-off); hn < HeaderSize {
		if _, err := r.ReadAt(h[:hn], off); err != nil && !errors.Is(err, io.EOF) {
			return nil, 0, err
		}
		return nil, 0, fmt.Errorf("%w: torn header (%d of %d bytes)", ErrDamaged, hn, HeaderSize)
	}
	if _, err := r.ReadAt(h[:], off); err != nil {
		return nil, 0, err
	}
	n, sum, err := f.header(h[:], size-off-HeaderSize)
	if err != nil {
		return nil, 0, err
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	payload = buf[:n]
	if _, err := r.ReadAt(payload, off+HeaderSize); err != nil {
		return nil, 0, err
	}
	if Checksum(payload) != sum {
		return nil, 0, fmt.Errorf("%w: payload checksum mismatch", ErrDamaged)
	}
	return payload, HeaderSize + int64(n), nil
}

// At verifies the record at the start of data and returns its payload (aliasing data);
// ok is false for anything but a whole record.
func (f Format) At(data []byte) (payload []byte, ok bool) {
	if len(data) < HeaderSize {
		return nil, false
	}
	n, sum, err := f.header(data[:HeaderSize], int64(len(data)-HeaderSize))
	if err != nil {
		return nil, false
	}
	p := data[HeaderSize : HeaderSize+n]
	if Checksum(p) != sum {
		return nil, false
	}
	return p, true
}

// Scan calls fn with the payload of every whole record in data, a whole segment, in
// order, and reports whether it met damage: a record with a magic that fails its
// checksums. After a record it looks for the next one right behind it and then at each
// multiple of Align bytes (every byte when Align is 0 or 1), skipping padding, the
// unused end of a segment allocated whole, and records that a kill left without their
// magic. It is the reader for a log whose writers may leave holes; a log that must stop
// at the first damage reads with ReadAt instead. Empty payloads are skipped.
func (f Format) Scan(data []byte, fn func(payload []byte)) (damaged bool) {
	step := max(f.Align, 1)
	for pos := 0; pos+HeaderSize <= len(data); {
		if p, ok := f.At(data[pos:]); ok {
			if len(p) > 0 {
				fn(p)
			}
			pos += HeaderSize + len(p)
			continue
		}
		if [4]byte(data[pos:pos+4]) == f.Magic {
			damaged = true
		}
		pos = (pos + step) / step * step
	}
	return damaged
}
