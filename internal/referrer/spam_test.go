package referrer

import (
	"strings"
	"testing"
)

func TestSpamList(t *testing.T) {
	l, err := ParseSpamList(strings.NewReader("# Matomo's format\n0n-line.tv\n\nSemalt.com\nbuttons-for-website.com.\n"))
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() != 3 {
		t.Errorf("Len = %d, want 3", l.Len())
	}
	p := NewParser(10)
	for ref, want := range map[string]bool{
		"https://semalt.com/":               true,
		"http://www.semalt.com/crawler":     true, // Info.Host drops www.
		"https://forum.semalt.com/x":        true, // a subdomain of a listed host
		"https://notsemalt.com/":            false,
		"https://semalt.com.example.org/":   false,
		"https://www.google.com/search?q=x": false,
		"":                                  false,
	} {
		if got := l.Has(p.Parse(ref, "shop.test").Host); got != want {
			t.Errorf("Has(host of %q) = %v, want %v", ref, got, want)
		}
	}
	var none *SpamList
	if none.Has("semalt.com") || none.Len() != 0 {
		t.Error("a nil list has hosts")
	}
	for _, bad := range []string{"", "# only a comment\n", "<html><body>\n", "semalt.com\nhttp://x.com/\n", strings.Repeat("a", 2000)} {
		if _, err := ParseSpamList(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseSpamList(%.40q): no error", bad)
		}
	}
}
