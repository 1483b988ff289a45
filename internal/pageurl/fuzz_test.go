package pageurl

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse checks that no input panics, that a page meets the invariants of
// checkPage, and that an error is one of ours and never quotes the input.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"https://example.com/blog/post?utm_source=x#y",
		"HTTP://[::1]:80/%C3%BC%2F%zz",
		"https://example.com/?ref=a&source=b",
		"javascript:alert(1)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := Parse(raw)
		if err != nil {
			if !errors.Is(err, ErrTooLong) && !errors.Is(err, ErrMalformed) &&
				!errors.Is(err, ErrScheme) && !errors.Is(err, ErrHost) {
				t.Fatalf("Parse(%q): foreign error %v", raw, err)
			}
			if len(raw) > 12 && strings.Contains(err.Error(), raw) {
				t.Fatalf("Parse(%q): error quotes the input", raw)
			}
			return
		}
		checkPage(t, raw, p)
		if !BelongsTo(p.Hostname, p.Hostname) {
			t.Errorf("BelongsTo(%q, itself) = false", p.Hostname)
		}
		host := p.Hostname
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		if again, err := Parse("https://" + host + p.Pathname); err != nil || again.Pathname != p.Pathname {
			t.Errorf("Pathname %q does not parse back: %+v, %v", p.Pathname, again, err)
		}
	})
}
