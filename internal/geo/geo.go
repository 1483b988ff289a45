// Package geo turns a visitor's full address into a country, region and city,
// in memory, before the address is truncated. The user supplies the database
// (GeoLite2/GeoIP2 or DB-IP Lite in mmdb form); without one, Lookup returns
// empty locations and everything else works.
package geo

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/oschwald/maxminddb-golang/v2"
)

// Location is where an address is, as far as the database knows. Empty
// fields mean unknown.
type Location struct {
	CountryCode string // ISO 3166-1 alpha-2, e.g. "EE"
	Region      string // first-level subdivision, English name, e.g. "Harjumaa"
	City        string // English name, e.g. "Tallinn"
}

// Supported lists what Open accepts, for error messages and docs.
const Supported = "GeoLite2/GeoIP2 City or Country, DB-IP City/Country Lite (mmdb)"

// supportedTypes are the database types whose records have the GeoIP2 City or
// Country layout (the same list geoip2-golang accepts for City and Country).
var supportedTypes = map[string]bool{
	"GeoLite2-City":               true,
	"GeoLite2-Country":            true,
	"GeoIP2-City":                 true,
	"GeoIP2-Country":              true,
	"GeoIP2-Precision-City":       true,
	"GeoIP2-City-Africa":          true,
	"GeoIP2-City-Asia-Pacific":    true,
	"GeoIP2-City-Europe":          true,
	"GeoIP2-City-North-America":   true,
	"GeoIP2-City-South-America":   true,
	"GeoIP-City-Redacted-US":      true,
	"DBIP-City-Lite":              true,
	"DBIP-Country-Lite":           true,
	"DBIP-Country":                true,
	"DBIP-Location (compat=City)": true,
}

// dbipAttribution must be shown wherever DB-IP data is used (CC BY 4.0).
const dbipAttribution = "IP geolocation by DB-IP (https://db-ip.com)"

// Reader looks up locations in one database file. It is safe for concurrent
// use; a nil *Reader means no database is configured.
type Reader struct {
	db    *maxminddb.Reader
	cache locationCache
}

// Open opens the database at path. Every failure is one line naming the path
// and what is wrong, because it is shown to whoever configured it at start-up.
func Open(path string) (*Reader, error) {
	if err := checkFile(path); err != nil {
		return nil, err
	}
	db, err := maxminddb.Open(path)
	if err != nil {
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			return nil, fmt.Errorf("geo: cannot read database %s: %v", path, pathErr.Err)
		}
		return nil, fmt.Errorf("geo: %s is not a MaxMind DB (mmdb) file; supported: %s", path, Supported)
	}
	if t := db.Metadata.DatabaseType; !supportedTypes[t] {
		db.Close()
		return nil, fmt.Errorf("geo: %s is a %.60q database, which has no GeoIP2 City/Country records; supported: %s", path, t, Supported)
	}
	return &Reader{db: db}, nil
}

// checkFile turns the common set-up mistakes into plain messages before the
// mmdb library sees the path.
func checkFile(path string) error {
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("geo: database file %s does not exist", path)
	case err != nil:
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			err = pathErr.Err
		}
		return fmt.Errorf("geo: cannot read database %s: %v", path, err)
	case info.IsDir():
		return fmt.Errorf("geo: database path %s is a directory, not an mmdb file", path)
	}
	return nil
}

// Describe names the database and its build date for the start-up log, e.g.
// "GeoLite2-City built 2026-11-01".
func (r *Reader) Describe() string {
	if r == nil || r.db == nil {
		return "no geo database"
	}
	m := r.db.Metadata
	return fmt.Sprintf("%s built %s", m.DatabaseType, m.BuildTime().UTC().Format("2006-01-02"))
}

// Attribution is the credit the database's licence requires on every page
// that shows its data: non-empty for DB-IP (CC BY 4.0), empty otherwise.
func (r *Reader) Attribution() string {
	if r == nil || r.db == nil || !strings.HasPrefix(r.db.Metadata.DatabaseType, "DBIP-") {
		return ""
	}
	return dbipAttribution
}

// Close releases the memory-mapped file. Call it only once lookups have
// stopped: a lookup racing with Close may read unmapped memory. Lookups after
// Close return empty Locations.
func (r *Reader) Close() error {
	if r == nil || r.db == nil {
		return nil
	}
	return r.db.Close()
}
