// Package cache is a bounded map for the enrichment steps' parse results: user agents
// and referrers repeat, so a hit saves a parse, and the bound keeps junk sent on
// purpose from growing memory.
package cache

import (
	"hash/maphash"
	"sync"
)

// Map is a bounded map from string keys to V, split into shards so that concurrent
// beacons rarely wait on the same lock. A hit takes a read lock only. When a shard is
// full an arbitrary entry is dropped: the keys that matter are the frequent ones, and
// they come back at once. A nil *Map holds nothing.
type Map[V any] struct {
	seed     maphash.Seed
	shards   []shard[V]
	perShard int
}

type shard[V any] struct {
	mu sync.RWMutex
	m  map[string]V
	_  [32]byte // keep shards on separate cache lines
}

const maxShards = 16

// New returns a map of at most size entries, or nil (a map that holds nothing) when
// size <= 0.
func New[V any](size int) *Map[V] {
	if size <= 0 {
		return nil
	}
	n := maxShards
	if size < n*4 {
		n = 1
	}
	c := &Map[V]{seed: maphash.MakeSeed(), shards: make([]shard[V], n), perShard: size / n}
	for i := range c.shards {
		c.shards[i].m = make(map[string]V)
	}
	return c
}

func (c *Map[V]) shard(key string) *shard[V] {
	if len(c.shards) == 1 {
		return &c.shards[0]
	}
	return &c.shards[maphash.String(c.seed, key)%uint64(len(c.shards))]
}

// Get returns the value stored under key.
func (c *Map[V]) Get(key string) (V, bool) {
	if c == nil {
		var zero V
		return zero, false
	}
	s := c.shard(key)
	s.mu.RLock()
	v, ok := s.m[key]
	s.mu.RUnlock()
	return v, ok
}

// Put stores v under key, which the caller must own (not a view of a reused request
// buffer).
func (c *Map[V]) Put(key string, v V) {
	if c == nil {
		return
	}
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[key]; !ok && len(s.m) >= c.perShard {
		for victim := range s.m { // map order is unspecified: a cheap random pick
			delete(s.m, victim)
			break
		}
	}
	s.m[key] = v
}

// Len returns the number of entries.
func (c *Map[V]) Len() int {
	if c == nil {
		return 0
	}
	n := 0
	for i := range c.shards {
		c.shards[i].mu.RLock()
		n += len(c.shards[i].m)
		c.shards[i].mu.RUnlock()
	}
	return n
}
