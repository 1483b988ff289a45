package geo

import (
	"net/netip"

	"github.com/oschwald/maxminddb-golang/v2"
)

// Lookup returns the location of ip. A nil Reader (no database configured),
// an address that cannot be public (private, loopback, link-local,
// multicast), an unknown address and a database error all give an empty
// Location: geo data is best-effort and must never fail an event.
func (r *Reader) Lookup(ip netip.Addr) Location {
	ip = ip.Unmap().WithZone("")
	if r == nil || r.db == nil || !routable(ip) {
		return Location{}
	}
	res := r.db.Lookup(ip)
	if !res.Found() {
		return Location{}
	}
	if loc, ok := r.cache.get(res.Offset()); ok {
		return loc
	}
	loc, err := decode(res)
	if err != nil {
		return Location{}
	}
	r.cache.put(res.Offset(), loc)
	return loc
}

// decode reads the three fields Lookup keeps from a GeoIP2 City or Country
// record (a Country record has no subdivisions or city; those stay empty).
// Paths skip everything else, which is most of a record: names in eight
// languages, coordinates, registered country.
func decode(res maxminddb.Result) (Location, error) {
	var loc Location
	if err := res.DecodePath(&loc.CountryCode, "country", "iso_code"); err != nil {
		return Location{}, err
	}
	if err := res.DecodePath(&loc.Region, "subdivisions", 0, "names", "en"); err != nil {
		return Location{}, err
	}
	if err := res.DecodePath(&loc.City, "city", "names", "en"); err != nil {
		return Location{}, err
	}
	return loc, nil
}

// routable reports whether ip could be a visitor's public address; others
// are not looked up, as no database locates them.
func routable(ip netip.Addr) bool {
	return ip.IsValid() && !ip.IsUnspecified() && !ip.IsPrivate() && !ip.IsLoopback() &&
		!ip.IsLinkLocalUnicast() && !ip.IsMulticast() && !ip.IsLinkLocalMulticast() &&
		!ip.IsInterfaceLocalMulticast()
}
