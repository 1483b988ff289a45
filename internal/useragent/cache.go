package useragent

import (
	"hash/maphash"
	"sync"
)

// cache is a bounded map from user agent to Info, split into shards so that
// concurrent beacons rarely wait on the same lock. A hit takes a read lock
// only. When a shard is full an arbitrary entry is dropped: the user agents
// that matter are the frequent ones, and they come back at once.
type cache struct {
	seed     maphash.Seed
	shards   []shard
	perShard int
}

type shard struct {
	mu sync.RWMutex
	m  map[string]Info
	_  [32]byte // keep shards on separate cache lines
}

const maxShards = 16

// newCache returns a cache of at most size entries, or nil (a cache that
// holds nothing) when size <= 0.
func newCache(size int) *cache {
	if size <= 0 {
		return nil
	}
	n := maxShards
	if size < n*4 {
		n = 1
	}
	c := &cache{seed: maphash.MakeSeed(), shards: make([]shard, n), perShard: size / n}
	for i := range c.shards {
		c.shards[i].m = make(map[string]Info)
	}
	return c
}

func (c *cache) shard(key string) *shard {
	if len(c.shards) == 1 {
		return &c.shards[0]
	}
	return &c.shards[maphash.String(c.seed, key)%uint64(len(c.shards))]
}

func (c *cache) get(key string) (Info, bool) {
	if c == nil {
		return Info{}, false
	}
	s := c.shard(key)
	s.mu.RLock()
	info, ok := s.m[key]
	s.mu.RUnlock()
	return info, ok
}

// put stores info under key, which the caller must own (not a view of a
// reused request buffer).
func (c *cache) put(key string, info Info) {
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
	s.m[key] = info
}

// len returns the number of entries, for tests.
func (c *cache) len() int {
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
