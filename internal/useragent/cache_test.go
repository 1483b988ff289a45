package useragent

import (
	"strconv"
	"testing"
)

func TestCacheIsBounded(t *testing.T) {
	for _, size := range []int{1, 5, 63, 64, 100, 1000} {
		c := newCache(size)
		for i := range size * 5 {
			key := strconv.Itoa(i)
			c.put(key, Info{Browser: key})
			if got, ok := c.get(key); !ok || got.Browser != key {
				t.Fatalf("size %d: get(%q) right after put = %+v, %v", size, key, got, ok)
			}
		}
		if n := c.len(); n > size || n < size/2 {
			t.Errorf("size %d: holds %d entries", size, n)
		}
	}
}

func TestCacheDisabled(t *testing.T) {
	for _, size := range []int{0, -1} {
		c := newCache(size)
		c.put("a", Info{Browser: "a"})
		if _, ok := c.get("a"); ok || c.len() != 0 {
			t.Errorf("newCache(%d) keeps entries", size)
		}
	}
}

func TestCacheOverwrite(t *testing.T) {
	c := newCache(2)
	c.put("a", Info{Browser: "1"})
	c.put("a", Info{Browser: "2"})
	c.put("b", Info{})
	if got, _ := c.get("a"); got.Browser != "2" || c.len() != 2 {
		t.Errorf("after overwrite: %+v, %d entries", got, c.len())
	}
}
