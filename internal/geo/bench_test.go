package geo_test

import (
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/oschwald/geoip2-golang"

	"github.com/websystems/loendur/internal/geo"
	"github.com/websystems/loendur/internal/geo/geotest"
)

// manyEntries returns n /24 networks in 81.0.0.0/8, each with its own city
// (a record of its own), so the tree walk is as deep as in a real database
// and lookups over them defeat the location cache.
func manyEntries(n int) []geotest.Entry {
	entries := make([]geotest.Entry, n)
	for i := range entries {
		entries[i] = geotest.Entry{
			CIDR:     manyAddr(i).String() + "/24",
			Location: geo.Location{CountryCode: "EE", Region: "Harjumaa", City: fmt.Sprintf("City %d", i)},
		}
	}
	return entries
}

// manyAddr is an address in the i-th network of manyEntries.
func manyAddr(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{81, byte(i >> 8), byte(i), 1})
}

// TestLookupManyRecords checks the cache under collisions: more distinct
// records than cache slots, each looked up twice.
func TestLookupManyRecords(t *testing.T) {
	const n = 6000
	path := filepath.Join(t.TempDir(), "many.mmdb")
	if err := geotest.WriteCityDB(path, manyEntries(n)); err != nil {
		t.Fatal(err)
	}
	r := writeDBAt(t, path)
	for range 2 {
		for i := range n {
			if got, want := r.Lookup(manyAddr(i)).City, fmt.Sprintf("City %d", i); got != want {
				t.Fatalf("Lookup(entry %d).City = %q, want %q", i, got, want)
			}
		}
	}
}

func BenchmarkLookup(b *testing.B) {
	const n = 8192
	path := filepath.Join(b.TempDir(), "bench.mmdb")
	if err := geotest.WriteCityDB(path, manyEntries(n)); err != nil {
		b.Fatal(err)
	}
	addrs := make([]netip.Addr, n)
	for i := range addrs {
		addrs[i] = manyAddr(i)
	}
	b.Run("cached", func(b *testing.B) {
		r := writeDBAt(b, path)
		b.ReportAllocs()
		for b.Loop() {
			r.Lookup(addrs[100])
		}
	})
	b.Run("uncached", func(b *testing.B) { // 8192 records cycle through 4096 slots
		r := writeDBAt(b, path)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			r.Lookup(addrs[i%n])
			i += 4099
		}
	})
	// geoip2-golang's City, for comparison: it decodes every field and
	// builds a map per set of names.
	b.Run("geoip2.City", func(b *testing.B) {
		db, err := geoip2.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		ip := net.IP(addrs[100].AsSlice())
		b.ReportAllocs()
		for b.Loop() {
			if _, err := db.City(ip); err != nil {
				b.Fatal(err)
			}
		}
	})
}
