package privacy

import (
	"net/netip"
	"strings"
	"testing"
)

func TestNewTruncator(t *testing.T) {
	tests := []struct {
		name       string
		v4, v6     int
		wantErrSub string
	}{
		{"defaults", 16, 48, ""},
		{"coarser", 8, 32, ""},
		{"nothing kept", 0, 0, ""},
		{"v4 too fine", 24, 48, "IPv4 prefix /24"},
		{"v4 full", 32, 48, "IPv4 prefix /32"},
		{"v6 too fine", 16, 56, "IPv6 prefix /56"},
		{"v6 full", 16, 128, "IPv6 prefix /128"},
		{"v4 negative", -1, 48, "IPv4 prefix /-1"},
		{"v6 negative", 16, -8, "IPv6 prefix /-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := NewTruncator(tt.v4, tt.v6)
			if tt.wantErrSub == "" {
				if err != nil {
					t.Fatalf("NewTruncator(%d, %d): %v", tt.v4, tt.v6, err)
				}
				if tr.V4Bits != tt.v4 || tr.V6Bits != tt.v6 {
					t.Fatalf("got %+v", tr)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErrSub) {
				t.Fatalf("NewTruncator(%d, %d) error = %v, want it to mention %q", tt.v4, tt.v6, err, tt.wantErrSub)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	def := Truncator{V4Bits: DefaultV4Bits, V6Bits: DefaultV6Bits}
	tests := []struct {
		name string
		tr   Truncator
		in   string
		want string
	}{
		{"v4 /16", def, "203.0.113.7", "203.0.0.0"},
		{"v4 /16 keeps second byte", def, "10.255.255.255", "10.255.0.0"},
		{"v4 /8", Truncator{8, 32}, "203.0.113.7", "203.0.0.0"},
		{"v4 /12 splits a byte", Truncator{12, 48}, "172.31.255.255", "172.16.0.0"},
		{"v4 /0", Truncator{0, 0}, "203.0.113.7", "0.0.0.0"},
		{"v6 /48", def, "2001:db8:1:2:3:4:5:6", "2001:db8:1::"},
		{"v6 /32", Truncator{16, 32}, "2001:db8:1:2::6", "2001:db8::"},
		{"v6 zone dropped", def, "fe80::1:2:3%eth0", "fe80::"},
		{"mapped truncates as v4", def, "::ffff:203.0.113.7", "203.0.0.0"},
		{"mapped with /8", Truncator{8, 32}, "::ffff:198.51.100.1", "198.0.0.0"},
		{"hand-made too fine v4 is clamped", Truncator{32, 128}, "203.0.113.7", "203.0.0.0"},
		{"hand-made too fine v6 is clamped", Truncator{32, 128}, "2001:db8:1:2::6", "2001:db8:1::"},
		{"zero value keeps nothing v4", Truncator{}, "203.0.113.7", "0.0.0.0"},
		{"zero value keeps nothing v6", Truncator{}, "2001:db8:1::6", "::"},
		{"negative clamps to 0", Truncator{-5, -5}, "203.0.113.7", "0.0.0.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.tr.Truncate(netip.MustParseAddr(tt.in))
			if got != netip.MustParseAddr(tt.want) {
				t.Fatalf("Truncate(%s) with %+v = %s, want %s", tt.in, tt.tr, got, tt.want)
			}
		})
	}
}

func TestTruncateInvalid(t *testing.T) {
	def := Truncator{V4Bits: DefaultV4Bits, V6Bits: DefaultV6Bits}
	if got := def.Truncate(netip.Addr{}); got.IsValid() {
		t.Fatalf("Truncate(invalid) = %s, want invalid", got)
	}
}

// TestTruncateRemovesTwoBytes checks the CNIL rule over many addresses: the
// last two bytes of IPv4 and the last ten of IPv6 are always zero.
func TestTruncateRemovesTwoBytes(t *testing.T) {
	tr, err := NewTruncator(DefaultV4Bits, DefaultV6Bits)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		b := byte(i)
		v4 := tr.Truncate(netip.AddrFrom4([4]byte{b, b + 1, b + 2, b + 3})).As4()
		if v4[2] != 0 || v4[3] != 0 {
			t.Fatalf("IPv4 kept host bytes: %v", v4)
		}
		var a [16]byte
		for j := range a {
			a[j] = b + byte(j)
		}
		v6 := tr.Truncate(netip.AddrFrom16(a)).As16()
		for j := 6; j < 16; j++ {
			if v6[j] != 0 {
				t.Fatalf("IPv6 kept byte %d: %v", j, v6)
			}
		}
	}
}
