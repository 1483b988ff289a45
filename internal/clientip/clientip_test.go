package clientip

import (
	"net/netip"
	"strings"
	"testing"
)

var testTrusted = []string{"10.0.0.0/8", "192.0.2.1", "2001:db8:ffff::/48", " ::ffff:172.16.0.0/108 ", ""}

func newTestResolver(t testing.TB) *Resolver {
	t.Helper()
	r, err := NewResolver(testTrusted)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestNewResolverErrors(t *testing.T) {
	tests := []struct {
		entry   string
		wantSub string
	}{
		{"10.0.0.0/33", `"10.0.0.0/33" is not a valid CIDR`},
		{"10.0.0/8", `"10.0.0/8" is not a valid CIDR`},
		{"proxy.local", `"proxy.local" is neither a CIDR nor an IP address`},
		{"10.0.0.1:80", `"10.0.0.1:80" is neither`},
		{"::ffff:10.0.0.0/90", "IPv4-mapped CIDR needs at least /96"},
	}
	for _, tt := range tests {
		t.Run(tt.entry, func(t *testing.T) {
			_, err := NewResolver([]string{"127.0.0.1", tt.entry})
			if err == nil || !strings.Contains(err.Error(), tt.wantSub) {
				t.Fatalf("error = %v, want it to contain %s", err, tt.wantSub)
			}
		})
	}
}

func TestTrusted(t *testing.T) {
	r := newTestResolver(t)
	tests := []struct {
		ip   string
		want bool
	}{
		{"10.1.2.3", true},
		{"::ffff:10.1.2.3", true},
		{"11.0.0.1", false},
		{"192.0.2.1", true},
		{"192.0.2.2", false},
		{"2001:db8:ffff:1::1", true},
		{"2001:db8:fffe::1", false},
		{"172.16.9.9", true}, // from the mapped CIDR, unmapped to 172.16.0.0/12
		{"172.32.0.1", false},
	}
	for _, tt := range tests {
		if got := r.Trusted(netip.MustParseAddr(tt.ip)); got != tt.want {
			t.Errorf("Trusted(%s) = %v, want %v", tt.ip, got, tt.want)
		}
	}
}

func TestClientIP(t *testing.T) {
	r := newTestResolver(t)
	many := strings.Repeat("10.0.0.9, ", 100) + "10.0.0.8"
	tests := []struct {
		name   string
		remote string // "" means the invalid address
		xff    string
		want   string // "" means the invalid address
	}{
		{"direct, no header", "203.0.113.7", "", "203.0.113.7"},
		{"spoofed header from untrusted remote is ignored", "203.0.113.7", "198.51.100.1", "203.0.113.7"},
		{"spoofed trusted-looking header is ignored", "203.0.113.7", "10.0.0.1", "203.0.113.7"},
		{"one proxy", "10.0.0.1", "203.0.113.7", "203.0.113.7"},
		{"one proxy, client spoofs left entries", "10.0.0.1", "1.1.1.1, 8.8.8.8, 203.0.113.7", "203.0.113.7"},
		{"two proxies", "10.0.0.1", "203.0.113.7, 10.0.0.2", "203.0.113.7"},
		{"three proxies, mixed families", "2001:db8:ffff::1", "198.51.100.9, 203.0.113.7, 192.0.2.1, 10.9.9.9", "203.0.113.7"},
		{"trusted proxy, empty header", "10.0.0.1", "", "10.0.0.1"},
		{"all hops trusted", "10.0.0.1", "10.0.0.2, 10.0.0.3", "10.0.0.2"},
		{"garbage stops at last good", "10.0.0.1", "203.0.113.7, garbage, 10.0.0.2", "10.0.0.2"},
		{"garbage at right end", "10.0.0.1", "203.0.113.7, unknown", "10.0.0.1"},
		{"empty entry stops", "10.0.0.1", "203.0.113.7,,10.0.0.2", "10.0.0.2"},
		{"trailing comma stops", "10.0.0.1", "203.0.113.7,", "10.0.0.1"},
		{"unspecified stops", "10.0.0.1", "203.0.113.7, 0.0.0.0", "10.0.0.1"},
		{"whitespace and tabs", "10.0.0.1", " \t203.0.113.7\t ,  10.0.0.2 ", "203.0.113.7"},
		{"v4 with port", "10.0.0.1", "203.0.113.7:52100", "203.0.113.7"},
		{"v6 bracketed with port", "10.0.0.1", "[2001:db8::7]:443", "2001:db8::7"},
		{"v6 plain", "10.0.0.1", "2001:db8::7", "2001:db8::7"},
		{"mapped remote is unmapped and trusted", "::ffff:10.0.0.1", "203.0.113.7", "203.0.113.7"},
		{"mapped remote is unmapped", "::ffff:203.0.113.7", "1.2.3.4", "203.0.113.7"},
		{"mapped hop is unmapped", "10.0.0.1", "::ffff:203.0.113.7", "203.0.113.7"},
		{"mapped trusted hop is skipped", "10.0.0.1", "203.0.113.7, ::ffff:10.0.0.2", "203.0.113.7"},
		{"zone dropped from remote", "fe80::1%eth0", "", "fe80::1"},
		{"zone dropped from hop", "10.0.0.1", "fe80::1%eth0", "fe80::1"},
		{"hop limit", "10.0.0.1", "203.0.113.7, " + many, "10.0.0.9"},
		{"overlong entry", "10.0.0.1", strings.Repeat("1", 100), "10.0.0.1"},
		{"huge header without commas", "10.0.0.1", strings.Repeat("x", 1<<20), "10.0.0.1"},
		{"invalid remote", "", "203.0.113.7", ""},
		{"non-ASCII garbage", "10.0.0.1", "203.0.113.7, \xff\xfe, 10.0.0.2", "10.0.0.2"},
		{"quoted entry is garbage", "10.0.0.1", `"203.0.113.7"`, "10.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.ClientIP(addr(tt.remote), tt.xff)
			if want := addr(tt.want); got != want {
				t.Fatalf("ClientIP(%q, %.80q) = %v, want %v", tt.remote, tt.xff, got, want)
			}
		})
	}
}

func TestNoTrustedProxies(t *testing.T) {
	r, err := NewResolver(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.ClientIP(netip.MustParseAddr("10.0.0.1"), "203.0.113.7"); got != netip.MustParseAddr("10.0.0.1") {
		t.Fatalf("got %v, want the remote address", got)
	}
}

func addr(s string) netip.Addr {
	if s == "" {
		return netip.Addr{}
	}
	return netip.MustParseAddr(s)
}

func BenchmarkClientIP(b *testing.B) {
	r := newTestResolver(b)
	remote := netip.MustParseAddr("10.0.0.1")
	b.ReportAllocs()
	for b.Loop() {
		r.ClientIP(remote, "198.51.100.1, 203.0.113.7, 10.0.0.2")
	}
}
