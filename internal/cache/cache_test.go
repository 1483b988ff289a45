package cache

import (
	"strconv"
	"testing"
)

func TestCacheIsBounded(t *testing.T) {
	for _, size := range []int{1, 5, 63, 64, 100, 1000} {
		c := New[string](size)
		for i := range size * 5 {
			key := strconv.Itoa(i)
			c.Put(key, key)
			if got, ok := c.Get(key); !ok || got != key {
				t.Fatalf("size %d: get(%q) right after put = %+v, %v", size, key, got, ok)
			}
		}
		if n := c.Len(); n > size || n < size/2 {
			t.Errorf("size %d: holds %d entries", size, n)
		}
	}
}

func TestCacheDisabled(t *testing.T) {
	for _, size := range []int{0, -1} {
		c := New[string](size)
		c.Put("a", "a")
		if _, ok := c.Get("a"); ok || c.Len() != 0 {
			t.Errorf("New(%d) keeps entries", size)
		}
	}
}

func TestCacheOverwrite(t *testing.T) {
	c := New[string](2)
	c.Put("a", "1")
	c.Put("a", "2")
	c.Put("b", "")
	if got, _ := c.Get("a"); got != "2" || c.Len() != 2 {
		t.Errorf("after overwrite: %+v, %d entries", got, c.Len())
	}
}
