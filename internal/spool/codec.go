package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"
	"github.com/klauspost/compress/s2"
	"github.com/websystems/loendur/internal/store"
)

// A record's payload starts with a layout version, a compression byte and the batch id:
//
//	layout version (1) | compression (1) | batch id (16) | body
//
// so that the spool can index a record by its id when it opens without decompressing
// or decoding anything. The body is the events (see appendEvents), stored as they are
// or compressed with S2, whichever the encoder chose.
//
// A change to store.Event (a field added, removed or retyped) needs a new layout version
// with its own decoder, and the old decoders stay, so that a spool written by the
// previous binary still replays; TestCodecCoversEveryField fails until that is done. A
// spool holding a version this binary does not know makes Open fail rather than lose it.
const (
	layoutV1 byte = 1 // hand-rolled binary, fields in the order of eventFieldsV1

	compressNone byte = 0
	compressS2   byte = 1

	payloadPrefix = 1 + 1 + 16

	// maxExpansion bounds how much larger a compressed body may decode than it is
	// stored, so that a payload can never make the decoder allocate more than this
	// multiple of its own size. The encoder stores a body uncompressed when S2 would
	// beat this ratio (realistic batches compress about 2:1: the random ids and
	// hashes in every event do not compress).
	maxExpansion = 16
)

// eventFieldsV1 is the field list of store.Event that layout version 1 encodes, in
// order. TestCodecCoversEveryField compares it with the struct.
var eventFieldsV1 = []string{
	"EventID", "Timestamp",
	"Site", "Name", "Hostname", "Pathname", "ReferrerHost", "ReferrerSource",
	"UTMSource", "UTMMedium", "UTMCampaign", "UTMTerm", "UTMContent",
	"CountryCode", "Region", "City", "Browser", "BrowserVersion", "OS", "OSVersion", "Device", "IP",
	"Width", "VisitorID", "SessionID", "EngagedMS", "Scroll", "PropKeys", "PropValues",
}

// minEventBytesV1 is the smallest encoding of one event in version 1: the id, one byte
// each for the two timestamp varints, 20 empty strings, the width, two fixed 8-byte
// hashes, engaged time, scroll and two empty property lists. It bounds the number of
// events a body of a given size can claim before anything is allocated.
const minEventBytesV1 = 16 + 2 + 20 + 1 + 8 + 8 + 1 + 1 + 2

var errMalformed = errors.New("malformed batch payload")

// encoder keeps the scratch buffers of appendPayload between batches.
type encoder struct {
	raw, comp []byte
}

// appendPayload appends the payload of b to dst.
func (enc *encoder) appendPayload(dst []byte, b *Batch) []byte {
	enc.raw = appendEvents(enc.raw[:0], b.Events)
	body, compression := enc.raw, compressNone
	if n := s2.MaxEncodedLen(len(enc.raw)); n > 0 {
		if cap(enc.comp) < n {
			enc.comp = make([]byte, n)
		}
		c := s2.Encode(enc.comp[:n], enc.raw)
		if len(c) < len(enc.raw) && len(enc.raw) <= maxExpansion*len(c) {
			body, compression = c, compressS2
		}
	}
	dst = append(dst, layoutV1, compression)
	dst = append(dst, b.ID[:]...)
	return append(dst, body...)
}

// appendEvents appends the layout-1 encoding of events to dst: a uvarint count, then
// for each event
//
//	event id (16) | varint unix seconds | uvarint nanoseconds |
//	20 strings (uvarint length + bytes): site, name, hostname, pathname, referrer host,
//	  referrer source, utm source/medium/campaign/term/content, country code, region,
//	  city, browser, browser version, os, os version, device, ip |
//	uvarint width | visitor id (8, little endian) | session id (8, little endian) |
//	uvarint engaged ms | scroll (1) | uvarint key count + strings | uvarint value count + strings
func appendEvents(dst []byte, events []store.Event) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(events)))
	for i := range events {
		e := &events[i]
		dst = append(dst, e.EventID[:]...)
		dst = binary.AppendVarint(dst, e.Timestamp.Unix())
		dst = binary.AppendUvarint(dst, uint64(e.Timestamp.Nanosecond()))
		for _, s := range [...]string{
			e.Site, e.Name, e.Hostname, e.Pathname, e.ReferrerHost, e.ReferrerSource,
			e.UTMSource, e.UTMMedium, e.UTMCampaign, e.UTMTerm, e.UTMContent,
			e.CountryCode, e.Region, e.City, e.Browser, e.BrowserVersion, e.OS, e.OSVersion, e.Device, e.IP,
		} {
			dst = appendString(dst, s)
		}
		dst = binary.AppendUvarint(dst, uint64(e.Width))
		dst = binary.LittleEndian.AppendUint64(dst, e.VisitorID)
		dst = binary.LittleEndian.AppendUint64(dst, e.SessionID)
		dst = binary.AppendUvarint(dst, uint64(e.EngagedMS))
		dst = append(dst, e.Scroll)
		dst = appendStrings(dst, e.PropKeys)
		dst = appendStrings(dst, e.PropValues)
	}
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendStrings(dst []byte, ss []string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(ss)))
	for _, s := range ss {
		dst = appendString(dst, s)
	}
	return dst
}

// payloadHeader returns the layout version, compression and batch id at the start of
// a payload, and whether this binary can decode it.
func payloadHeader(p []byte) (layout, compression byte, id uuid.UUID, err error) {
	if len(p) < payloadPrefix {
		return 0, 0, uuid.Nil, fmt.Errorf("%w: %d bytes, shorter than its header", errMalformed, len(p))
	}
	layout, compression, id = p[0], p[1], uuid.UUID(p[2:payloadPrefix])
	if layout != layoutV1 {
		return layout, compression, id, fmt.Errorf("%w: layout version %d (this binary reads %d)", errUnknownFormat, layout, layoutV1)
	}
	if compression != compressNone && compression != compressS2 {
		return layout, compression, id, fmt.Errorf("%w: compression %d", errUnknownFormat, compression)
	}
	return layout, compression, id, nil
}

// errUnknownFormat marks a payload whose checksum is right but whose format this
// binary does not know: written by a newer version, not damaged.
var errUnknownFormat = errors.New("unknown spool format")

// decodePayload decodes a payload. It never panics and allocates at most a small
// multiple of len(p): a compressed body may expand at most maxExpansion times, and
// every count and length is checked against the bytes that are left before anything
// is allocated. All strings of the batch share one copy of the body (one allocation
// instead of one per field).
func decodePayload(p []byte) (Batch, error) {
	_, compression, id, err := payloadHeader(p)
	if err != nil {
		return Batch{}, err
	}
	body := p[payloadPrefix:]
	if compression == compressS2 {
		n, err := s2.DecodedLen(body)
		if err != nil {
			return Batch{}, fmt.Errorf("%w: %v", errMalformed, err)
		}
		if n > maxExpansion*len(body) {
			return Batch{}, fmt.Errorf("%w: body claims to expand %d bytes to %d", errMalformed, len(body), n)
		}
		if body, err = s2.Decode(make([]byte, n), body); err != nil {
			return Batch{}, fmt.Errorf("%w: %v", errMalformed, err)
		}
	}
	events, err := decodeEventsV1(body)
	if err != nil {
		return Batch{}, err
	}
	return Batch{ID: id, Events: events}, nil
}

// decoder reads a layout-1 body. all is the body as one string; the decoder's
// strings are slices of it.
type decoder struct {
	all string
	off int
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s at byte %d", errMalformed, what, d.off)
	}
}

func (d *decoder) left() int { return len(d.all) - d.off }

func (d *decoder) bytes(n int) string {
	if d.err != nil || n > d.left() {
		d.fail("truncated")
		return ""
	}
	s := d.all[d.off : d.off+n]
	d.off += n
	return s
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	var x uint64
	var shift uint
	for i := 0; i < binary.MaxVarintLen64; i++ {
		if d.off >= len(d.all) {
			d.fail("truncated varint")
			return 0
		}
		c := d.all[d.off]
		d.off++
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				d.fail("varint overflows 64 bits")
				return 0
			}
			return x | uint64(c)<<shift
		}
		x |= uint64(c&0x7f) << shift
		shift += 7
	}
	d.fail("varint overflows 64 bits")
	return 0
}

func (d *decoder) varint() int64 {
	ux := d.uvarint()
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x
}

func (d *decoder) string() string {
	n := d.uvarint()
	if n > uint64(d.left()) {
		d.fail("string longer than the payload")
		return ""
	}
	return d.bytes(int(n))
}

func (d *decoder) strings() []string {
	n := d.uvarint()
	if n == 0 {
		return nil
	}
	if n > uint64(d.left()) { // each string takes at least its length byte
		d.fail("list longer than the payload")
		return nil
	}
	ss := make([]string, n)
	for i := range ss {
		ss[i] = d.string()
	}
	return ss
}

func (d *decoder) fixed64() uint64 {
	s := d.bytes(8)
	if len(s) < 8 {
		return 0
	}
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func (d *decoder) id() uuid.UUID {
	var u uuid.UUID
	copy(u[:], d.bytes(16))
	return u
}

func (d *decoder) bounded(limit uint64, what string) uint64 {
	x := d.uvarint()
	if x > limit {
		d.fail(what + " out of range")
		return 0
	}
	return x
}

func decodeEventsV1(body []byte) ([]store.Event, error) {
	d := &decoder{all: string(body)}
	n := d.uvarint()
	if d.err == nil && n > uint64(d.left()/minEventBytesV1) {
		d.fail("event count larger than the body can hold")
	}
	if d.err != nil {
		return nil, d.err
	}
	events := make([]store.Event, n)
	for i := range events {
		e := &events[i]
		e.EventID = d.id()
		sec := d.varint()
		nsec := d.bounded(999_999_999, "nanoseconds")
		e.Timestamp = time.Unix(sec, int64(nsec)).UTC()
		for _, s := range [...]*string{
			&e.Site, &e.Name, &e.Hostname, &e.Pathname, &e.ReferrerHost, &e.ReferrerSource,
			&e.UTMSource, &e.UTMMedium, &e.UTMCampaign, &e.UTMTerm, &e.UTMContent,
			&e.CountryCode, &e.Region, &e.City, &e.Browser, &e.BrowserVersion, &e.OS, &e.OSVersion, &e.Device, &e.IP,
		} {
			*s = d.string()
		}
		e.Width = uint16(d.bounded(math.MaxUint16, "width"))
		e.VisitorID = d.fixed64()
		e.SessionID = d.fixed64()
		e.EngagedMS = uint32(d.bounded(math.MaxUint32, "engaged_ms"))
		if s := d.bytes(1); len(s) == 1 {
			e.Scroll = s[0]
		}
		e.PropKeys = d.strings()
		e.PropValues = d.strings()
		if d.err != nil {
			return nil, d.err
		}
	}
	if d.left() != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the last event", errMalformed, d.left())
	}
	return events, nil
}
