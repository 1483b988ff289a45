package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// BenchmarkInsertEvents inserts batches of 10,000 varied events on each engine, as the
// batch writer does (columns on the server, TSV on chDB), and 20,000 as two chunks.
func BenchmarkInsertEvents(b *testing.B) {
	now := time.Now().UTC()
	batch := make([]Event, 10_000)
	for i := range batch {
		batch[i] = sampleEvent("bench.insert.test", now.Add(time.Duration(i)*time.Millisecond))
		batch[i].Pathname = fmt.Sprintf("/blog/post-%d", rand.IntN(900))
		batch[i].VisitorID = rand.Uint64()
	}
	for engine, s := range openEngines(b) {
		if _, err := Migrate(context.Background(), s); err != nil {
			b.Fatal(err)
		}
		b.Run(engine+"/batch", func(b *testing.B) {
			for range b.N {
				if err := InsertEvents(context.Background(), s, batch); err != nil {
					b.Fatal(err)
				}
			}
		})
		// The collector's insert on a server: two chunks of its queue in one insert.
		b.Run(engine+"/chunks", func(b *testing.B) {
			for range b.N {
				if err := InsertEventChunks(context.Background(), s, [][]Event{batch, batch}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
