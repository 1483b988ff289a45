package spool

import (
	"unsafe"

	"github.com/google/uuid"
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

// Waiting reports whether the batch with this id is in the spool, not yet acknowledged.
func (s *Spool) Waiting(id uuid.UUID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.pending[id]
	return ok
}
