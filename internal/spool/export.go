package spool

import (
	"unsafe"

	"github.com/websystems/loendur/internal/store"
)

// AppendEvents appends the spool's layout-1 encoding of events (a count, then each
// event) to dst. Other on-disk logs (the collector's accept log) share it.
func AppendEvents(dst []byte, events []store.Event) []byte { return appendEvents(dst, events) }

// AppendEvent appends the layout-1 encoding of a single event, count included: the
// same bytes as AppendEvents with a one-event slice, without building the slice.
func AppendEvent(dst []byte, e *store.Event) []byte {
	return appendEvents(dst, unsafe.Slice(e, 1))
}

// DecodeEvents decodes what AppendEvents or AppendEvent wrote. It never panics; the
// strings of the events share one copy of body.
func DecodeEvents(body []byte) ([]store.Event, error) { return decodeEventsV1(body) }
