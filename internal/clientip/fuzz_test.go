package clientip

import (
	"net/netip"
	"strings"
	"testing"
)

// FuzzClientIP checks that no remote address or header makes ClientIP panic
// or return an address it was not given. The seed corpus is in
// testdata/fuzz/FuzzClientIP; run with `go test -fuzz FuzzClientIP`.
func FuzzClientIP(f *testing.F) {
	f.Add("10.0.0.1", "203.0.113.7, 10.0.0.2")
	f.Add("203.0.113.7", "10.0.0.1")
	r := newTestResolver(f)
	f.Fuzz(func(t *testing.T, remoteText, xff string) {
		remote, _ := netip.ParseAddr(remoteText) // invalid text gives the invalid address
		got := r.ClientIP(remote, xff)
		want := normalize(remote)
		switch {
		case !want.IsValid():
			if got.IsValid() {
				t.Fatalf("invalid remote gave %v", got)
			}
			return
		case got.Is4In6() || got.Zone() != "":
			t.Fatalf("result %v is not normalized", got)
		case !r.Trusted(want) && got != want:
			t.Fatalf("untrusted remote %v, header believed: %v", want, got)
		case got != want && !inLastHops(got, xff):
			t.Fatalf("result %v is neither the remote nor one of the last %d hops", got, maxHops)
		}
	})
}

// inLastHops reports whether a is one of the last maxHops entries of xff.
func inLastHops(a netip.Addr, xff string) bool {
	entries := strings.Split(xff, ",")
	for i := len(entries) - 1; i >= 0 && i >= len(entries)-maxHops; i-- {
		if hop, ok := parseHop(entries[i]); ok && hop == a {
			return true
		}
	}
	return false
}
