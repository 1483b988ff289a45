package pageurl

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, raw string
		want      Page
	}{
		{"plain", "https://example.com/blog/post", Page{Hostname: "example.com", Pathname: "/blog/post"}},
		{"no path", "https://example.com", Page{Hostname: "example.com", Pathname: "/"}},
		{"host normalised", "HTTP://WWW.Example.COM.:8080/A", Page{Hostname: "www.example.com", Pathname: "/A"}},
		{"query and fragment dropped", "https://example.com/p?email=a@b.c&token=x#section",
			Page{Hostname: "example.com", Pathname: "/p"}},
		{"only query", "https://example.com?q=1", Page{Hostname: "example.com", Pathname: "/"}},
		{"trailing slash kept", "https://example.com/docs/", Page{Hostname: "example.com", Pathname: "/docs/"}},
		{"unicode decoded", "https://example.com/%C3%BCber/%E6%97%A5%E6%9C%AC", Page{Hostname: "example.com", Pathname: "/über/日本"}},
		{"raw unicode", "https://example.com/über", Page{Hostname: "example.com", Pathname: "/über"}},
		{"raw unicode beside an escaped slash", "https://example.com/über/a%2Fb c", Page{Hostname: "example.com", Pathname: "/über/a%2Fb%20c"}},
		{"unreserved decoded", "https://example.com/%7Euser/a%2Db", Page{Hostname: "example.com", Pathname: "/~user/a-b"}},
		{"reserved kept escaped", "https://example.com/a%2Fb%3Fc%23d%25e", Page{Hostname: "example.com", Pathname: "/a%2Fb%3Fc%23d%25e"}},
		{"space kept escaped", "https://example.com/a%20b", Page{Hostname: "example.com", Pathname: "/a%20b"}},
		{"control kept escaped", "https://example.com/a%00b%0a", Page{Hostname: "example.com", Pathname: "/a%00b%0A"}},
		{"bidi override kept escaped", "https://example.com/a%E2%80%AEb", Page{Hostname: "example.com", Pathname: "/a%E2%80%AEb"}},
		{"invalid utf-8 kept escaped", "https://example.com/%FF%C3", Page{Hostname: "example.com", Pathname: "/%FF%C3"}},
		{"idn host", "https://BÜCHER.de/", Page{Hostname: "bücher.de", Pathname: "/"}},
		{"punycode host", "https://xn--bcher-kva.de/", Page{Hostname: "xn--bcher-kva.de", Pathname: "/"}},
		{"ipv4", "http://192.168.1.10:3000/x", Page{Hostname: "192.168.1.10", Pathname: "/x"}},
		{"ipv6", "http://[2001:DB8::1]:8080/x", Page{Hostname: "2001:db8::1", Pathname: "/x"}},
		{"userinfo ignored", "https://user:secret@example.com/x", Page{Hostname: "example.com", Pathname: "/x"}},
		{"surrounding spaces", "  https://example.com/x \n", Page{Hostname: "example.com", Pathname: "/x"}},
		{"utm", "https://example.com/?utm_source=Newsletter&utm_medium=email&utm_campaign=spring+sale&utm_term=shoes&utm_content=top%20link",
			Page{Hostname: "example.com", Pathname: "/", UTM: UTM{"Newsletter", "email", "spring sale", "shoes", "top link"}}},
		{"ref fallback", "https://example.com/?ref=producthunt", Page{Hostname: "example.com", Pathname: "/", UTM: UTM{Source: "producthunt"}}},
		{"source fallback", "https://example.com/?source=hn", Page{Hostname: "example.com", Pathname: "/", UTM: UTM{Source: "hn"}}},
		{"utm_source wins", "https://example.com/?source=b&ref=a&utm_source=c", Page{Hostname: "example.com", Pathname: "/", UTM: UTM{Source: "c"}}},
		{"ref before source", "https://example.com/?source=b&ref=a", Page{Hostname: "example.com", Pathname: "/", UTM: UTM{Source: "a"}}},
		{"empty utm_source falls back", "https://example.com/?utm_source=%20&ref=a", Page{Hostname: "example.com", Pathname: "/", UTM: UTM{Source: "a"}}},
		{"first value", "https://example.com/?utm_medium=a&utm_medium=b", Page{Hostname: "example.com", Pathname: "/", UTM: UTM{Medium: "a"}}},
		{"utm cleaned", "https://example.com/?utm_campaign=%20a%00b%E2%80%AEc%FF%20", Page{Hostname: "example.com", Pathname: "/", UTM: UTM{Campaign: "abc\uFFFD"}}},
		{"utm in fragment ignored", "https://example.com/#utm_source=x", Page{Hostname: "example.com", Pathname: "/"}},
		{"bad query pairs skipped", "https://example.com/?a=%zz&utm_source=ok;x", Page{Hostname: "example.com", Pathname: "/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.raw)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.raw, err)
			}
			if got != tt.want {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v", tt.raw, got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	secret := "secret-token-123"
	tests := []struct {
		raw  string
		want error
	}{
		{"", ErrScheme},
		{"/relative/path?t=" + secret, ErrScheme},
		{"ftp://example.com/" + secret, ErrScheme},
		{"javascript:alert('" + secret + "')", ErrScheme},
		{"data:text/html," + secret, ErrScheme},
		{"file:///etc/passwd?" + secret, ErrScheme},
		{"http:///path?" + secret, ErrHost},
		{"https://", ErrHost},
		{"http:example.com/" + secret, ErrHost},
		{"http://exa mple.com/?" + secret, ErrMalformed},
		{"http://a..b/?" + secret, ErrHost},
		{"http://a_b$c.com/?" + secret, ErrHost},
		{"http://" + strings.Repeat("a", 254) + "/?" + secret, ErrHost},
		{"http://[::1/?" + secret, ErrMalformed},
		{"http://example.com:port/?" + secret, ErrMalformed},
		{"http://example.com/%zz?" + secret, ErrMalformed},
		{"http://example.com/\x7f?" + secret, ErrMalformed},
		{"https://example.com/?" + secret + strings.Repeat("x", MaxURLLen), ErrTooLong},
	}
	for _, tt := range tests {
		_, err := Parse(tt.raw)
		if !errors.Is(err, tt.want) {
			t.Errorf("Parse(%.60q) error = %v, want %v", tt.raw, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("Parse(%.60q) error %q leaks the URL", tt.raw, err)
		}
	}
}

func TestParseLimits(t *testing.T) {
	// 1500 bytes of "é" escapes decode to 500 runes, 1000 bytes: kept whole.
	p, err := Parse("https://example.com/" + strings.Repeat("%C3%A9", 250))
	if err != nil {
		t.Fatal(err)
	}
	checkPage(t, "escaped", p)
	if want := "/" + strings.Repeat("é", 250); p.Pathname != want {
		t.Errorf("Pathname = %q, want %q", p.Pathname, want)
	}
	// A path that stays escaped is cut before the limit, between escapes.
	if p, err = Parse("https://example.com/" + strings.Repeat("%2F", 600)); err != nil {
		t.Fatal(err)
	}
	checkPage(t, "long escaped", p)
	if n := len(p.Pathname); n > MaxPathnameLen || n < MaxPathnameLen-2 || (n-1)%3 != 0 {
		t.Errorf("Pathname of %d bytes, want whole escapes up to %d", n, MaxPathnameLen)
	}
	if p, err = Parse("https://example.com/" + strings.Repeat("é", 1000)); err != nil {
		t.Fatal(err)
	}
	checkPage(t, "long unicode", p)
	if len(p.Pathname) != MaxPathnameLen-1 {
		t.Errorf("Pathname of %d bytes, want %d (cut between runes)", len(p.Pathname), MaxPathnameLen-1)
	}
	if p, err = Parse("https://example.com/?utm_source=" + strings.Repeat("ü", MaxUTMLen)); err != nil {
		t.Fatal(err)
	}
	checkPage(t, "long utm", p)
	if len(p.UTM.Source) != MaxUTMLen {
		t.Errorf("UTM source of %d bytes, want %d", len(p.UTM.Source), MaxUTMLen)
	}
	exact := "https://example.com/"
	exact += strings.Repeat("a", MaxURLLen-len(exact))
	if _, err := Parse(exact); err != nil {
		t.Errorf("URL of exactly %d bytes: %v", MaxURLLen, err)
	}
	if _, err := Parse(exact + "a"); !errors.Is(err, ErrTooLong) {
		t.Errorf("URL of %d bytes: %v, want ErrTooLong", MaxURLLen+1, err)
	}
}

// TestTruncatePath checks that a cut never leaves half an escape or rune.
func TestTruncatePath(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"/abc%2Fdef", 5, "/abc"},
		{"/abc%2Fdef", 6, "/abc"},
		{"/abc%2Fdef", 7, "/abc%2F"},
		{"/aéb", 3, "/a"},
		{"/aéb", 4, "/aé"},
		{"/a", 10, "/a"},
	}
	for _, tt := range tests {
		if got := truncatePath(tt.in, tt.n); got != tt.want {
			t.Errorf("truncatePath(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestBelongsTo(t *testing.T) {
	tests := []struct {
		host, domain string
		want         bool
	}{
		{"example.com", "example.com", true},
		{"blog.example.com", "example.com", true},
		{"a.b.example.com", "example.com", true},
		{"EXAMPLE.com.", "example.COM", true},
		{"example.com:8080", "example.com", true},
		{"example.com", "example.com.:443", true},
		{"www.example.com", "example.com", true},
		{"example.com", "www.example.com", false},
		{"badexample.com", "example.com", false},
		{"example.com.evil.org", "example.com", false},
		{"example.co", "example.com", false},
		{"", "example.com", false},
		{"example.com", "", false},
		{"[::1]:80", "::1", true},
		{".", ".", false},
	}
	for _, tt := range tests {
		if got := BelongsTo(tt.host, tt.domain); got != tt.want {
			t.Errorf("BelongsTo(%q, %q) = %v, want %v", tt.host, tt.domain, got, tt.want)
		}
	}
}

func TestCleanHost(t *testing.T) {
	for in, want := range map[string]string{
		"Example.COM": "example.com", "example.com.": "example.com", "example.com:80": "example.com",
		"[2001:db8::1]:443": "2001:db8::1", "2001:DB8::1": "2001:db8::1", "my_host.local": "my_host.local",
		"": "", ".": "", "a..b": "", "a b": "", "a/b": "", "[::1": "", "1.2.3.4:5:6": "", "-": "-",
	} {
		got, ok := CleanHost(in)
		if got != want || ok != (want != "") {
			t.Errorf("CleanHost(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

// BenchmarkParserMix parses the URL mix of make bench's beacons, repeated as a site's
// pages are: three in four plain, the rest with campaign parameters, another query
// parameter or a fragment.
func BenchmarkParserMix(b *testing.B) {
	var urls []string
	for i := range 400 {
		u := fmt.Sprintf("https://example.com/blog/post-%d", i)
		switch i % 100 {
		case 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11:
			u += fmt.Sprintf("?utm_source=newsletter&utm_medium=email&utm_campaign=c%d-2025", i%7)
		case 12, 13, 14, 15:
			u += "?utm_source=facebook&utm_medium=cpc&utm_campaign=autumn&utm_content=carousel&utm_term=analytics"
		case 16, 17, 18, 19, 20, 21:
			u += fmt.Sprintf("?page=%d", 2+i%9)
		case 22, 23, 24:
			u += "#comments"
		}
		urls = append(urls, u)
	}
	p := NewParser(10_000)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := p.Parse(urls[i*7%len(urls)]); err != nil {
			b.Fatal(err)
		}
	}
}

// The parser reads the part before a query string or fragment from its cache and the
// campaign parameters from the URL itself: what it gives is what Parse gives, including
// for what only the query string or fragment makes malformed.
func TestParserAgreesWithParse(t *testing.T) {
	p := NewParser(64)
	for _, raw := range []string{
		"https://example.com/a?utm_source=news&utm_medium=email",
		"https://example.com/a?utm_source=other",
		"https://example.com/a#top",
		"https://example.com/a?utm_campaign=x#frag?utm_source=no",
		"https://example.com/a#frag?utm_source=no",
		"https://example.com/a?",
		"https://example.com/a?utm_source=x\x01",  // a control character in the query
		"https://example.com/a#%zz",               // a bad escape in the fragment
		"https://example.com/a#\x01",              // url.Parse allows this one
		"https://example.com/a ?utm_source=x",     // a space before the query is kept
		"  https://example.com/a?utm_source=x \t", // the URL's own spaces are trimmed
		"ftp://example.com/a?utm_source=x",
		"https://exa mple.com/a?utm_source=x",
	} {
		want, wantErr := Parse(raw)
		for range 2 { // the second from the cache
			if got, err := p.Parse(raw); got != want || err != wantErr {
				t.Errorf("Parser.Parse(%q) = %+v, %v; Parse: %+v, %v", raw, got, err, want, wantErr)
			}
		}
	}
}
