package spool

import (
	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/eventtest"
)

// testBatch returns a batch of n events with a fresh id.
func testBatch(n int, seed uint64) Batch {
	return Batch{ID: uuid.New(), Events: eventtest.Realistic(n, seed)}
}
