package exclusion

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/websystems/loendur/internal/store/storetest"
)

func TestNormalize(t *testing.T) {
	got, err := Normalize(Rules{
		UserAgents: []string{" UptimeRobot ", "", "UptimeRobot", "Acme Monitor/1.0"},
		Addresses:  []string{"203.0.113.0/24", " 198.51.100.7", "2001:db8::/48", "::ffff:192.0.2.1", "203.0.113.0/24", ""},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Rules{
		UserAgents: []string{"UptimeRobot", "Acme Monitor/1.0"},
		Addresses:  []string{"203.0.113.0/24", "198.51.100.7", "2001:db8::/48", "::ffff:192.0.2.1"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Normalize = %+v, want %+v", got, want)
	}
	for _, bad := range []Rules{
		{Addresses: []string{"203.0.113.0/33"}},
		{Addresses: []string{"example.com"}},
		{Addresses: []string{"203.0.113"}},
		{UserAgents: []string{"tab\there"}},
		{UserAgents: []string{strings.Repeat("x", MaxUserAgentLen+1)}},
		{UserAgents: []string{"bad \xff utf-8"}},
		{Addresses: manyAddresses(MaxEntries + 1)},
	} {
		_, err := Normalize(bad)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Normalize(%+v): err = %v, want an *Error", bad, err)
		}
	}
}

func manyAddresses(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}).String()
	}
	return out
}

func TestExcluded(t *testing.T) {
	s := NewSet(nil, slog.New(slog.DiscardHandler))
	m := map[string]*compiled{"shop.test": compile(Rules{
		UserAgents: []string{"UptimeRobot"},
		Addresses:  []string{"203.0.113.0/24", "198.51.100.7", "2001:db8:1::/48", "::ffff:192.0.2.0/120"},
	})}
	s.sites.Store(&m)
	const browser = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
	for _, tt := range []struct {
		site, ip, ua string
		want         bool
	}{
		{"shop.test", "203.0.113.77", browser, true},
		{"shop.test", "::ffff:203.0.113.77", browser, true}, // mapped IPv4, as a dual-stack socket reports it
		{"shop.test", "198.51.100.7", browser, true},
		{"shop.test", "198.51.100.8", browser, false},
		{"shop.test", "2001:db8:1:5::1", browser, true},
		{"shop.test", "2001:db8:2::1", browser, false},
		{"shop.test", "192.0.2.9", browser, true}, // an IPv4 range typed as mapped IPv6
		{"shop.test", "192.0.3.9", browser, false},
		{"shop.test", "192.0.3.9", "Mozilla/5.0+(compatible; uptimerobot/2.0; http://www.uptimerobot.com/)", true},
		{"other.test", "203.0.113.77", "UptimeRobot", false}, // rules are per site
	} {
		if got := s.Excluded(tt.site, netip.MustParseAddr(tt.ip), tt.ua); got != tt.want {
			t.Errorf("Excluded(%s, %s, %q) = %v, want %v", tt.site, tt.ip, tt.ua, got, tt.want)
		}
	}
}

// Save stores the rules as typed and Load reads the newest on both engines; an empty
// list removes every exclusion of the site.
func TestSaveLoad(t *testing.T) {
	ctx := context.Background()
	for name, db := range storetest.Engines(t) {
		t.Run(name, func(t *testing.T) {
			s := NewSet(db, slog.New(slog.DiscardHandler))
			now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
			if _, err := s.Save(ctx, "shop.test", Rules{Addresses: []string{"203.0.113.0/24"}}, "ana@agency.test", now); err != nil {
				t.Fatal(err)
			}
			saved, err := s.Save(ctx, "shop.test", Rules{UserAgents: []string{"AcmeWatch"}, Addresses: []string{"198.51.100.7", "2001:db8::/48"}}, "ana@agency.test", now)
			if err != nil {
				t.Fatal(err)
			}
			other := NewSet(db, slog.New(slog.DiscardHandler)) // another process
			if err := other.Load(ctx); err != nil {
				t.Fatal(err)
			}
			if got := other.Rules("shop.test"); !reflect.DeepEqual(got, saved) {
				t.Errorf("loaded %+v, want %+v", got, saved)
			}
			if !other.Excluded("shop.test", netip.MustParseAddr("2001:db8::9"), "x") || other.Excluded("shop.test", netip.MustParseAddr("203.0.113.1"), "x") {
				t.Error("the newest rules are not the ones applied")
			}
			if _, err := s.Save(ctx, "shop.test", Rules{}, "ana@agency.test", now); err != nil {
				t.Fatal(err)
			}
			if err := other.Load(ctx); err != nil {
				t.Fatal(err)
			}
			if other.Excluded("shop.test", netip.MustParseAddr("198.51.100.7"), "AcmeWatch") {
				t.Error("cleared rules still apply")
			}
			if _, err := s.Save(ctx, "shop.test", Rules{Addresses: []string{"nonsense"}}, "", now); err == nil {
				t.Error("bad rules saved")
			}
		})
	}
}

func TestSplitList(t *testing.T) {
	got := SplitList("UptimeRobot\r\nAcme, Pingdom\n\n")
	want := []string{"UptimeRobot", "Acme", " Pingdom"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SplitList = %q, want %q", got, want)
	}
}
