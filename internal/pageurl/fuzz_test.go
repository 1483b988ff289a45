package pageurl

import (
	"errors"
	"net/url"
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
	cached := NewParser(64)
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := Parse(raw)
		for range 2 {
			if cp, cerr := cached.Parse(raw); cp != p || cerr != err {
				t.Fatalf("Parse(%q): cached %+v, %v; uncached %+v, %v", raw, cp, cerr, p, err)
			}
		}
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

// FuzzUTM checks the campaign parameters against url.ParseQuery, which decodes every
// parameter of the page where utmOf decodes only the ones it keeps.
func FuzzUTM(f *testing.F) {
	for _, s := range []string{
		"utm_source=news&utm_medium=e%20mail&utm_campaign=a+b",
		"ref=x&utm_source=&source=y;z&utm_term=%zz&utm_term=ok",
		"utm_%73ource=enc&utm_content=%C3%BC&utm_content=second",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rawQuery string) {
		q, _ := url.ParseQuery(rawQuery)
		source := cleanParam(q.Get("utm_source"))
		for _, alt := range []string{"ref", "source"} {
			if source == "" {
				source = cleanParam(q.Get(alt))
			}
		}
		want := UTM{Source: source, Medium: cleanParam(q.Get("utm_medium")), Campaign: cleanParam(q.Get("utm_campaign")),
			Term: cleanParam(q.Get("utm_term")), Content: cleanParam(q.Get("utm_content"))}
		if got := utmOf(rawQuery); got != want {
			t.Errorf("utmOf(%q) = %+v, want %+v", rawQuery, got, want)
		}
	})
}
