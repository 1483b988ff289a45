package eventcodec

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/store"
)

// DecodeEvents decodes what AppendEvents or AppendEvent wrote. It never panics, and
// checks every count and length against the bytes that are left before it allocates
// anything. The strings of the events share one copy of body (one allocation instead of
// one per field). An error wraps ErrMalformed.
func DecodeEvents(body []byte) ([]store.Event, error) { return decodeEventsV1(body) }

// decoder reads a layout-1 body. all is the body as one string; the decoder's
// strings are slices of it.
type decoder struct {
	all string
	off int
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s at byte %d", ErrMalformed, what, d.off)
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
		return nil, fmt.Errorf("%w: %d bytes after the last event", ErrMalformed, d.left())
	}
	return events, nil
}
