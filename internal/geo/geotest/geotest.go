// Package geotest writes small MaxMind-format databases for tests, so no test
// needs a real GeoLite2 or DB-IP file (which are licensed and large).
package geotest

import (
	"fmt"
	"hash/fnv"
	"net"
	"os"
	"time"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/websystems/loendur/internal/geo"
)

// Entry maps one network to a location.
type Entry struct {
	CIDR     string
	Location geo.Location
}

// BuildTime is stamped into every database written here, so Describe output
// is stable in tests.
var BuildTime = time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)

// languages are the locales real GeoIP2 databases carry. Records carry them
// all (with the English name) so decoding cost resembles a real database.
var languages = []string{"de", "en", "es", "fr", "ja", "pt-BR", "ru", "zh-CN"}

// WriteCityDB writes a "GeoIP2-City" database with entries to path.
func WriteCityDB(path string, entries []Entry) error {
	return WriteDB(path, "GeoIP2-City", entries)
}

// WriteCountryDB writes a "GeoIP2-Country" database with entries to path. The
// region and city of each entry are left out, as in a real Country database.
func WriteCountryDB(path string, entries []Entry) error {
	country := make([]Entry, len(entries))
	for i, e := range entries {
		country[i] = Entry{CIDR: e.CIDR, Location: geo.Location{CountryCode: e.Location.CountryCode}}
	}
	return WriteDB(path, "GeoIP2-Country", country)
}

// WriteDB writes entries in the GeoIP2-City record layout under any database
// type name, e.g. "GeoLite2-City", "DBIP-City-Lite", or an unsupported one.
// Documentation and private ranges (192.0.2.0/24, 2001:db8::/32, 10.0.0.0/8)
// are allowed, unlike in real databases, so tests can use them.
func WriteDB(path, databaseType string, entries []Entry) error {
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            databaseType,
		Description:             map[string]string{"en": "loendur test database"},
		Languages:               languages,
		BuildEpoch:              BuildTime.Unix(),
		IncludeReservedNetworks: true,
	})
	if err != nil {
		return fmt.Errorf("geotest: %w", err)
	}
	for _, e := range entries {
		_, network, err := net.ParseCIDR(e.CIDR)
		if err != nil {
			return fmt.Errorf("geotest: entry %q: %w", e.CIDR, err)
		}
		if err := tree.Insert(network, record(e.Location)); err != nil {
			return fmt.Errorf("geotest: entry %q: %w", e.CIDR, err)
		}
	}
	return writeFile(path, tree)
}

// writeFile writes tree to path.
func writeFile(path string, tree *mmdbwriter.Tree) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("geotest: %w", err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("geotest: writing %s: %w", path, err)
	}
	return f.Close()
}

// record builds a GeoIP2-City-shaped record, leaving out empty parts as real
// databases do.
func record(loc geo.Location) mmdbtype.Map {
	m := mmdbtype.Map{}
	if loc.CountryCode != "" {
		country := place(loc.CountryCode)
		country["iso_code"] = mmdbtype.String(loc.CountryCode)
		m["country"] = country
		m["registered_country"] = country
	}
	if loc.Region != "" {
		m["subdivisions"] = mmdbtype.Slice{place(loc.Region)}
	}
	if loc.City != "" {
		m["city"] = place(loc.City)
		m["location"] = mmdbtype.Map{
			"accuracy_radius": mmdbtype.Uint16(100),
			"latitude":        mmdbtype.Float64(59.437),
			"longitude":       mmdbtype.Float64(24.7535),
			"time_zone":       mmdbtype.String("Europe/Tallinn"),
		}
	}
	return m
}

// place returns {geoname_id, names} for a named place.
func place(name string) mmdbtype.Map {
	names := mmdbtype.Map{}
	for _, lang := range languages {
		names[mmdbtype.String(lang)] = mmdbtype.String(name)
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	return mmdbtype.Map{
		"geoname_id": mmdbtype.Uint32(h.Sum32() % 10_000_000),
		"names":      names,
	}
}
