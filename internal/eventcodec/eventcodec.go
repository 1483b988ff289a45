// Package eventcodec encodes store.Event values for loendur's on-disk logs: the spool
// stores batches of them, the accept log one event per record. It is a hand-rolled
// binary layout (BenchmarkEncodings in internal/spool compares it with encoding/json
// and encoding/gob), and its decoder never panics and never allocates more than a
// small multiple of its input, whatever the bytes: they come back from disk, and page
// paths and properties come from the public.
//
// # Versions
//
// Layout1 is the only layout. A change to store.Event (a field added, removed or
// retyped) needs a new layout with its own decoder, and the old decoders stay, so that
// what the previous binary left on disk is still read; TestCoversEveryField fails until
// that is done. The spool records the layout of each batch; the accept log's event
// records do not yet, and would need a new record kind for a new layout.
package eventcodec

import (
	"encoding/binary"
	"errors"
	"unsafe"

	"github.com/websystems/loendur/internal/store"
)

// Layout1 is the version number of the layout AppendEvents writes.
const Layout1 byte = 1

// FieldsV1 is the field list of store.Event that layout 1 encodes, in order.
// TestCoversEveryField compares it with the struct.
var FieldsV1 = []string{
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

// ErrMalformed marks bytes that are not an encoding of events.
var ErrMalformed = errors.New("malformed events")

// AppendEvent appends the layout-1 encoding of a single event, count included: the
// same bytes as AppendEvents with a one-event slice, without building the slice.
func AppendEvent(dst []byte, e *store.Event) []byte {
	return AppendEvents(dst, unsafe.Slice(e, 1))
}

// AppendEvents appends the layout-1 encoding of events to dst: a uvarint count, then
// for each event
//
//	event id (16) | varint unix seconds | uvarint nanoseconds |
//	20 strings (uvarint length + bytes): site, name, hostname, pathname, referrer host,
//	  referrer source, utm source/medium/campaign/term/content, country code, region,
//	  city, browser, browser version, os, os version, device, ip |
//	uvarint width | visitor id (8, little endian) | session id (8, little endian) |
//	uvarint engaged ms | scroll (1) | uvarint key count + strings | uvarint value count + strings
func AppendEvents(dst []byte, events []store.Event) []byte {
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
