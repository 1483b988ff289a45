// Package privacy holds the primitives that keep personal data out of storage:
// address truncation and the salted visitor and session ids.
package privacy

import (
	"fmt"
	"net/netip"
)

// Finest prefixes allowed. The CNIL exempts audience measurement from consent
// only when at least the last two bytes of an address are removed, so these are
// also the defaults; a coarser prefix (fewer bits) is always allowed.
const (
	DefaultV4Bits = 16
	DefaultV6Bits = 48
)

// Truncator removes the host part of addresses before anything is stored.
// V4Bits and V6Bits are the prefix lengths kept. Build one with NewTruncator;
// Truncate clamps fields set by hand to the allowed range, so even a
// hand-made Truncator can never keep more than /16 or /48, and the zero value
// keeps nothing (it fails towards privacy, not towards data).
type Truncator struct{ V4Bits, V6Bits int }

// NewTruncator returns a Truncator that keeps v4Bits of IPv4 and v6Bits of
// IPv6 addresses. It refuses prefixes finer than /16 and /48, because storing
// them would break the privacy promise, rather than silently clamping a
// misconfiguration.
func NewTruncator(v4Bits, v6Bits int) (Truncator, error) {
	if v4Bits < 0 || v4Bits > DefaultV4Bits {
		return Truncator{}, fmt.Errorf("privacy: IPv4 prefix /%d not allowed: keep 0 to %d bits (at least two bytes must be removed)", v4Bits, DefaultV4Bits)
	}
	if v6Bits < 0 || v6Bits > DefaultV6Bits {
		return Truncator{}, fmt.Errorf("privacy: IPv6 prefix /%d not allowed: keep 0 to %d bits (at least the interface and subnet part must be removed)", v6Bits, DefaultV6Bits)
	}
	return Truncator{V4Bits: v4Bits, V6Bits: v6Bits}, nil
}

// Truncate returns ip with everything after the kept prefix zeroed, e.g.
// 203.0.113.7 → 203.0.0.0 and 2001:db8:1:2::7 → 2001:db8:1::. IPv4-mapped IPv6
// is unmapped first, so it is truncated as IPv4 (a /48 of ::ffff:a.b.c.d would
// keep the whole address). The zone is dropped. An invalid address stays
// invalid.
func (t Truncator) Truncate(ip netip.Addr) netip.Addr {
	ip = ip.Unmap()
	bits := clamp(t.V6Bits, DefaultV6Bits)
	if ip.Is4() {
		bits = clamp(t.V4Bits, DefaultV4Bits)
	} else if !ip.Is6() {
		return netip.Addr{}
	}
	p, err := ip.Prefix(bits) // cannot fail: bits is within the address length
	if err != nil {
		return netip.Addr{}
	}
	return p.Addr()
}

// clamp limits bits to [0, maxBits].
func clamp(bits, maxBits int) int {
	return max(0, min(bits, maxBits))
}
