package geo_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/websystems/loendur/internal/geo"
	"github.com/websystems/loendur/internal/geo/geotest"
)

var (
	tallinn = geo.Location{CountryCode: "EE", Region: "Harjumaa", City: "Tallinn"}
	tartu   = geo.Location{CountryCode: "EE", Region: "Tartumaa", City: "Tartu"}
	berlin  = geo.Location{CountryCode: "DE", Region: "Land Berlin", City: "Berlin"}
	france  = geo.Location{CountryCode: "FR"}
)

var testEntries = []geotest.Entry{
	{CIDR: "81.20.0.0/16", Location: tallinn},
	{CIDR: "81.20.128.0/17", Location: tartu}, // more specific, inserted later: wins
	{CIDR: "2a02:2e0::/32", Location: berlin},
	{CIDR: "203.0.113.0/24", Location: france},
	{CIDR: "10.0.0.0/8", Location: tallinn}, // private: must never be looked up
}

// writeDB writes a database with testEntries under dbType and opens it.
func writeDB(t testing.TB, dbType string) *geo.Reader {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.mmdb")
	if err := geotest.WriteDB(path, dbType, testEntries); err != nil {
		t.Fatal(err)
	}
	return writeDBAt(t, path)
}

// writeDBAt opens the database at path, closing it when the test ends.
func writeDBAt(t testing.TB, path string) *geo.Reader {
	t.Helper()
	r, err := geo.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestLookupCity(t *testing.T) {
	path := filepath.Join(t.TempDir(), "city.mmdb")
	if err := geotest.WriteCityDB(path, testEntries); err != nil {
		t.Fatal(err)
	}
	r, err := geo.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	tests := []struct {
		ip   string
		want geo.Location
	}{
		{"81.20.1.2", tallinn},
		{"81.20.200.1", tartu},
		{"::ffff:81.20.1.2", tallinn},
		{"2a02:2e0:1:2::3", berlin},
		{"2a02:2e0:1:2::3%eth0", berlin},
		{"203.0.113.7", france},
		{"81.21.0.1", geo.Location{}}, // not in the database
		{"2a03::1", geo.Location{}},   // not in the database
		{"10.1.2.3", geo.Location{}},  // private, although the database has it
		{"127.0.0.1", geo.Location{}}, // loopback
		{"fe80::1", geo.Location{}},   // link-local
		{"fd00::1", geo.Location{}},   // unique local
		{"0.0.0.0", geo.Location{}},   // unspecified
		{"224.0.0.1", geo.Location{}}, // multicast
		{"ff02::1", geo.Location{}},   // multicast
	}
	for _, tt := range tests {
		if got := r.Lookup(netip.MustParseAddr(tt.ip)); got != tt.want {
			t.Errorf("Lookup(%s) = %+v, want %+v", tt.ip, got, tt.want)
		}
	}
	if got := r.Lookup(netip.Addr{}); got != (geo.Location{}) {
		t.Errorf("Lookup(invalid) = %+v", got)
	}
	if got, want := r.Describe(), "GeoIP2-City built 2026-01-15"; got != want {
		t.Errorf("Describe() = %q, want %q", got, want)
	}
	if got := r.Attribution(); got != "" {
		t.Errorf("Attribution() = %q, want none for MaxMind", got)
	}
}

func TestLookupCountry(t *testing.T) {
	path := filepath.Join(t.TempDir(), "country.mmdb")
	if err := geotest.WriteCountryDB(path, testEntries); err != nil {
		t.Fatal(err)
	}
	r, err := geo.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	tests := []struct {
		ip   string
		want geo.Location
	}{
		{"81.20.1.2", geo.Location{CountryCode: "EE"}},
		{"2a02:2e0::1", geo.Location{CountryCode: "DE"}},
		{"203.0.113.7", france},
		{"192.0.2.1", geo.Location{}},
	}
	for _, tt := range tests {
		if got := r.Lookup(netip.MustParseAddr(tt.ip)); got != tt.want {
			t.Errorf("Lookup(%s) = %+v, want %+v", tt.ip, got, tt.want)
		}
	}
	if got, want := r.Describe(), "GeoIP2-Country built 2026-01-15"; got != want {
		t.Errorf("Describe() = %q, want %q", got, want)
	}
}

func TestSupportedTypes(t *testing.T) {
	tests := []struct {
		dbType      string
		attribution bool
	}{
		{"GeoLite2-City", false},
		{"GeoLite2-Country", false},
		{"GeoIP2-City", false},
		{"GeoIP2-Country", false},
		{"DBIP-City-Lite", true},
		{"DBIP-Country-Lite", true},
	}
	for _, tt := range tests {
		t.Run(tt.dbType, func(t *testing.T) {
			r := writeDB(t, tt.dbType)
			if got := r.Lookup(netip.MustParseAddr("81.20.1.1")); got != tallinn {
				t.Errorf("Lookup = %+v, want %+v", got, tallinn)
			}
			if !strings.HasPrefix(r.Describe(), tt.dbType+" built ") {
				t.Errorf("Describe() = %q", r.Describe())
			}
			got := r.Attribution()
			if tt.attribution && !strings.Contains(got, "DB-IP") {
				t.Errorf("Attribution() = %q, want the DB-IP credit", got)
			}
			if !tt.attribution && got != "" {
				t.Errorf("Attribution() = %q, want none", got)
			}
		})
	}
}

func TestLookupAfterClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "city.mmdb")
	if err := geotest.WriteCityDB(path, testEntries); err != nil {
		t.Fatal(err)
	}
	r, err := geo.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr("81.20.1.2")
	if got := r.Lookup(ip); got != tallinn { // fills the cache
		t.Fatalf("Lookup = %+v", got)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if got := r.Lookup(ip); got != (geo.Location{}) {
		t.Fatalf("Lookup after Close = %+v, want empty", got)
	}
}

func TestNilReader(t *testing.T) {
	var r *geo.Reader
	if got := r.Lookup(netip.MustParseAddr("81.20.1.2")); got != (geo.Location{}) {
		t.Errorf("nil Lookup = %+v", got)
	}
	if r.Attribution() != "" || r.Describe() == "" || r.Close() != nil {
		t.Error("nil reader methods misbehave")
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.mmdb")
	empty := filepath.Join(dir, "empty.mmdb")
	asn := filepath.Join(dir, "asn.mmdb")
	flat := filepath.Join(dir, "flat.mmdb")
	mustWrite(t, garbage, []byte(strings.Repeat("not a database\n", 100)))
	mustWrite(t, empty, nil)
	if err := geotest.WriteDB(asn, "GeoLite2-ASN", nil); err != nil {
		t.Fatal(err)
	}
	if err := geotest.WriteDB(flat, "ip-location-db country", nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		want       []string
	}{
		{"missing", filepath.Join(dir, "nope.mmdb"), []string{"does not exist"}},
		{"directory", dir, []string{"is a directory"}},
		{"unreadable", filepath.Join(garbage, "child"), []string{"cannot read database", "not a directory"}},
		{"garbage", garbage, []string{"is not a MaxMind DB (mmdb) file", geo.Supported}},
		{"empty", empty, []string{"is not a MaxMind DB (mmdb) file"}},
		{"unsupported type", asn, []string{`"GeoLite2-ASN" database`, geo.Supported}},
		{"flat layout", flat, []string{`"ip-location-db country" database`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := geo.Open(tt.path)
			if err == nil {
				r.Close()
				t.Fatal("Open succeeded")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") || !strings.Contains(msg, tt.path) {
				t.Errorf("error %q is not one line naming the path", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
		})
	}
}

func TestConcurrentLookup(t *testing.T) {
	r := writeDB(t, "GeoLite2-City")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				if got := r.Lookup(netip.MustParseAddr("2a02:2e0::9")); got != berlin {
					t.Errorf("Lookup = %+v", got)
					return
				}
			}
		})
	}
	wg.Wait()
}

func mustWrite(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
