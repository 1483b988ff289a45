// Package clientip finds the visitor's address behind reverse proxies without
// letting a visitor choose it: X-Forwarded-For is believed only as far as it
// was written by proxies the operator trusts.
package clientip

import (
	"fmt"
	"net/netip"
	"strings"
)

// maxHops bounds how many X-Forwarded-For entries are examined, so an absurdly
// long header costs no more than a normal one. No real chain of trusted
// proxies is this deep.
const maxHops = 20

// maxEntryLen is longer than any address with a port ("[v6]:65535" is at
// most 47 bytes); longer entries are garbage and are not parsed at all.
const maxEntryLen = 64

// Resolver decides which address is the visitor's. It is safe for concurrent
// use and never changes after NewResolver.
type Resolver struct {
	trusted []netip.Prefix
}

// NewResolver returns a Resolver that trusts the given proxies, each a CIDR
// ("10.0.0.0/8", "2001:db8::/32") or a bare address ("192.0.2.1"). Empty
// entries are skipped, so splitting an empty setting on commas works. IPv4
// given as IPv4-mapped IPv6 is stored as IPv4, because addresses are unmapped
// before matching.
func NewResolver(trustedCIDRs []string) (*Resolver, error) {
	r := &Resolver{}
	for _, s := range trustedCIDRs {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		p, err := parseTrusted(s)
		if err != nil {
			return nil, err
		}
		r.trusted = append(r.trusted, p)
	}
	return r, nil
}

// parseTrusted parses one trusted-proxy entry into a masked, unmapped prefix.
func parseTrusted(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("clientip: trusted proxy %q is neither a CIDR nor an IP address", s)
		}
		a = a.Unmap().WithZone("")
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("clientip: trusted proxy %q is not a valid CIDR (want e.g. 10.0.0.0/8 or 2001:db8::/32)", s)
	}
	if a := p.Addr(); a.Is4In6() {
		if p.Bits() < 96 {
			return netip.Prefix{}, fmt.Errorf("clientip: trusted proxy %q: an IPv4-mapped CIDR needs at least /96", s)
		}
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// Trusted reports whether ip belongs to a trusted proxy.
func (r *Resolver) Trusted(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range r.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// ClientIP returns the visitor's address. It is remote, unless remote is a
// trusted proxy; then xForwardedFor (all X-Forwarded-For values joined with
// commas, in order) is walked from the right, skipping trusted proxies, and
// the first untrusted address is the client. Entries to the left of it were
// written by the visitor and are never believed. An invalid entry stops the
// walk at the last good address, as does the hop limit. The result is
// unmapped and has no zone; it is invalid only when remote is.
func (r *Resolver) ClientIP(remote netip.Addr, xForwardedFor string) netip.Addr {
	client := normalize(remote)
	if !client.IsValid() || !r.Trusted(client) {
		return client
	}
	rest := xForwardedFor
	for range maxHops {
		if rest == "" {
			break
		}
		var entry string
		rest, entry = lastEntry(rest)
		hop, ok := parseHop(entry)
		if !ok {
			break
		}
		client = hop
		if !r.Trusted(hop) {
			break
		}
	}
	return client
}

// lastEntry splits the rightmost comma-separated entry off s.
func lastEntry(s string) (rest, entry string) {
	i := strings.LastIndexByte(s, ',')
	if i < 0 {
		return "", s
	}
	return s[:i], s[i+1:]
}

// parseHop parses one X-Forwarded-For entry: an address, optionally with a
// port ("192.0.2.1:443", "[2001:db8::1]:443"), as some proxies write.
// The unspecified address is refused: it names no client.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > maxEntryLen {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	a = normalize(a)
	if a.IsUnspecified() {
		return netip.Addr{}, false
	}
	return a, true
}

// normalize unmaps IPv4-mapped IPv6 and drops the zone, so one visitor has
// one form everywhere downstream (hashing, truncation, geo lookup).
func normalize(a netip.Addr) netip.Addr {
	return a.Unmap().WithZone("")
}
