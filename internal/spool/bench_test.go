package spool

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"testing"

	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/eventcodec"
)

const benchEvents = 10_000

// BenchmarkAppend measures Append of a 10,000-event batch: encoding, compression,
// checksum, one write and fsync. The spool lives in the test's temporary folder (set
// TMPDIR to measure another disk).
func BenchmarkAppend(b *testing.B) {
	h := open(b, b.TempDir(), 1<<40, 0)
	batch := testBatch(benchEvents, 1)
	var size int64
	for b.Loop() {
		batch.ID = uuid.New()
		_, before := h.Stats()
		if err := h.Append(batch); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		_, after := h.Stats()
		size = after - before
		if err := h.Ack(batch.ID); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.SetBytes(size)
	b.ReportMetric(float64(size)/benchEvents, "disk-bytes/event")
	b.ReportMetric(float64(b.N*benchEvents)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAppendAck is the whole round of a spooled batch: Append, then Ack (a second
// fsync), with the segment deleted whenever it is all acknowledged.
func BenchmarkAppendAck(b *testing.B) {
	h := open(b, b.TempDir(), 1<<40, 0)
	batch := testBatch(benchEvents, 1)
	for b.Loop() {
		batch.ID = uuid.New()
		if err := h.Append(batch); err != nil {
			b.Fatal(err)
		}
		if err := h.Ack(batch.ID); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOldest reads a 10,000-event batch back: read, verify, decompress, decode.
func BenchmarkOldest(b *testing.B) {
	h := open(b, b.TempDir(), 1<<40, 0)
	h.append(testBatch(benchEvents, 1))
	for b.Loop() {
		if _, ok, err := h.Oldest(); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
	b.ReportMetric(float64(b.N*benchEvents)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkEncode and BenchmarkDecode are the payload codec alone.
func BenchmarkEncode(b *testing.B) {
	batch := testBatch(benchEvents, 1)
	var enc encoder
	var p []byte
	for b.Loop() {
		p = enc.appendPayload(p[:0], &batch)
	}
	b.SetBytes(int64(len(p)))
}

func BenchmarkDecode(b *testing.B) {
	p := benchPayload() // the batch itself is garbage: the GC does not mark it on every cycle
	for b.Loop() {
		if _, err := decodePayload(p); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(p)))
	b.ReportMetric(float64(b.N*benchEvents)/b.Elapsed().Seconds(), "events/s")
}

func benchPayload() []byte {
	batch := testBatch(benchEvents, 1)
	var enc encoder
	return enc.appendPayload(nil, &batch)
}

// BenchmarkEncodings compares the chosen layout with encoding/json and encoding/gob on
// the same batch; bytes/batch is the encoded size. (gob is also ruled out because it
// is not hardened against hostile input.)
func BenchmarkEncodings(b *testing.B) {
	batch := testBatch(benchEvents, 1)
	var enc encoder
	spool := enc.appendPayload(nil, &batch)
	raw := eventcodec.AppendEvents(nil, batch.Events)
	js, err := json.Marshal(batch)
	if err != nil {
		b.Fatal(err)
	}
	var gb bytes.Buffer
	if err := gob.NewEncoder(&gb).Encode(batch); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		size   int
		encode func()
		decode func()
	}{
		{"spool", len(spool), func() { enc.appendPayload(spool[:0], &batch) }, func() { decodePayload(spool) }},
		{"spool-uncompressed", len(raw), func() { eventcodec.AppendEvents(raw[:0], batch.Events) }, func() { eventcodec.DecodeEvents(raw) }},
		{"json", len(js), func() { json.Marshal(batch) }, func() { var x Batch; json.Unmarshal(js, &x) }},
		{"gob", gb.Len(), func() { gob.NewEncoder(new(bytes.Buffer)).Encode(batch) },
			func() { var x Batch; gob.NewDecoder(bytes.NewReader(gb.Bytes())).Decode(&x) }},
	} {
		b.Run(c.name+"/encode", func(b *testing.B) {
			for b.Loop() {
				c.encode()
			}
			b.ReportMetric(float64(c.size), "bytes/batch")
		})
		b.Run(c.name+"/decode", func(b *testing.B) {
			for b.Loop() {
				c.decode()
			}
			b.ReportMetric(float64(c.size), "bytes/batch")
		})
	}
}
