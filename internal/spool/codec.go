package spool

import (
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/klauspost/compress/s2"
	"github.com/websystems/loendur/internal/eventcodec"
)

// A record's payload starts with a layout version, a compression byte and the batch id:
//
//	layout version (1) | compression (1) | batch id (16) | body
//
// so that the spool can index a record by its id when it opens without decompressing
// or decoding anything. The body is the events (internal/eventcodec), stored as they are
// or compressed with S2, whichever the encoder chose.
//
// The layout version is the event layout of internal/eventcodec the body uses; a new
// one comes with its decoder there, and the old decoders stay, so that a spool written
// by the previous binary still replays. A spool holding a version this binary does not
// know makes Open fail rather than lose it.
const (
	layoutV1 = eventcodec.Layout1

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

// errMalformed marks a payload that verified and does not decode: the events'
// decoder's error, so that one errors.Is finds both.
var errMalformed = eventcodec.ErrMalformed

// encoder keeps the scratch buffers of appendPayload between batches.
type encoder struct {
	raw, comp []byte
}

// appendPayload appends the payload of b to dst.
func (enc *encoder) appendPayload(dst []byte, b *Batch) []byte {
	enc.raw = eventcodec.AppendEvents(enc.raw[:0], b.Events)
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
	events, err := eventcodec.DecodeEvents(body)
	if err != nil {
		return Batch{}, err
	}
	return Batch{ID: id, Events: events}, nil
}
