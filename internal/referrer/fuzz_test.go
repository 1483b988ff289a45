package referrer

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/websystems/loendur/internal/pageurl"
)

// FuzzParse checks that no input panics and that the result is either empty
// or a clean, external host with a source, and that a cached parser (asked twice)
// answers as an uncached one.
func FuzzParse(f *testing.F) {
	f.Add("https://www.google.co.uk/search?q=x", "example.com")
	f.Add("https://blog.example.com/", "www.example.com")
	cached := NewParser(64)
	f.Fuzz(func(t *testing.T, raw, site string) {
		got := Parse(raw, site)
		for range 2 {
			if c := cached.Parse(raw, site); c != got {
				t.Fatalf("Parse(%q, %q): cached %+v, uncached %+v", raw, site, c, got)
			}
		}
		if got == (Info{}) {
			return
		}
		if got.Host == "" || got.Source == "" {
			t.Fatalf("Parse(%q, %q) = %+v: half empty", raw, site, got)
		}
		if clean, ok := pageurl.CleanHost(got.Host); !ok || clean != got.Host {
			t.Errorf("Parse(%q, %q).Host = %q, not a clean host", raw, site, got.Host)
		}
		if strings.HasPrefix(got.Host, "www.") && strings.Count(got.Host, ".") > 1 {
			t.Errorf("Parse(%q, %q).Host = %q keeps www.", raw, site, got.Host)
		}
		if pageurl.BelongsTo(got.Host, site) {
			t.Errorf("Parse(%q, %q) = %+v: a self-referral", raw, site, got)
		}
		if !utf8.ValidString(got.Source) || len(got.Source) > 253 {
			t.Errorf("Parse(%q, %q).Source = %q", raw, site, got.Source)
		}
	})
}
