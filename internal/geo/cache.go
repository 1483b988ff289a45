package geo

import "sync/atomic"

// cacheBits sets the cache to 4096 slots (about 300 KB when full): enough
// for the cities a site's visitors come from, small enough not to matter.
const cacheBits = 12

// locationCache maps a database record's offset to its decoded Location.
// Many networks share one record, and real traffic comes from few places, so
// most lookups skip decoding entirely. It is direct-mapped and lock-free: a
// collision simply replaces the slot, and a slot is replaced whole, so a
// reader never sees a half-written entry.
type locationCache struct {
	slots [1 << cacheBits]atomic.Pointer[cacheEntry]
}

type cacheEntry struct {
	offset uintptr
	loc    Location
}

// get returns the cached Location of the record at offset.
func (c *locationCache) get(offset uintptr) (Location, bool) {
	e := c.slots[slot(offset)].Load()
	if e == nil || e.offset != offset {
		return Location{}, false
	}
	return e.loc, true
}

// put caches loc as the Location of the record at offset.
func (c *locationCache) put(offset uintptr, loc Location) {
	c.slots[slot(offset)].Store(&cacheEntry{offset: offset, loc: loc})
}

// slot spreads offsets (which are multiples of record sizes) over the slots
// with a Fibonacci hash.
func slot(offset uintptr) uint64 {
	return (uint64(offset) * 0x9E3779B97F4A7C15) >> (64 - cacheBits)
}
