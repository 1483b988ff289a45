package referrer

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	const site = "example.com"
	tests := []struct {
		raw  string
		want Info
	}{
		// search engines, including country domains
		{"https://www.google.com/", Info{"google.com", "Google"}},
		{"https://www.google.co.uk/search?q=private", Info{"google.co.uk", "Google"}},
		{"https://www.google.de/", Info{"google.de", "Google"}},
		{"https://news.google.com/articles/x", Info{"news.google.com", "Google"}},
		{"https://www.bing.com/search?q=x", Info{"bing.com", "Bing"}},
		{"https://cn.bing.com/", Info{"cn.bing.com", "Bing"}},
		{"https://duckduckgo.com/", Info{"duckduckgo.com", "DuckDuckGo"}},
		{"https://search.yahoo.com/", Info{"search.yahoo.com", "Yahoo"}},
		{"https://search.yahoo.co.jp/", Info{"search.yahoo.co.jp", "Yahoo"}},
		{"https://yandex.ru/search/", Info{"yandex.ru", "Yandex"}},
		{"https://ya.ru/", Info{"ya.ru", "Yandex"}},
		{"https://www.baidu.com/link?url=x", Info{"baidu.com", "Baidu"}},
		{"https://www.ecosia.org/search?q=x", Info{"ecosia.org", "Ecosia"}},
		// social networks and link shorteners
		{"https://www.facebook.com/", Info{"facebook.com", "Facebook"}},
		{"https://m.facebook.com/", Info{"m.facebook.com", "Facebook"}},
		{"https://l.facebook.com/l.php?u=x", Info{"l.facebook.com", "Facebook"}},
		{"https://fb.me/abc", Info{"fb.me", "Facebook"}},
		{"https://l.instagram.com/", Info{"l.instagram.com", "Instagram"}},
		{"https://t.co/abc", Info{"t.co", "Twitter"}},
		{"https://twitter.com/someone", Info{"twitter.com", "Twitter"}},
		{"https://x.com/", Info{"x.com", "Twitter"}},
		{"https://www.linkedin.com/", Info{"linkedin.com", "LinkedIn"}},
		{"https://lnkd.in/abc", Info{"lnkd.in", "LinkedIn"}},
		{"https://old.reddit.com/r/golang", Info{"old.reddit.com", "Reddit"}},
		{"https://m.youtube.com/", Info{"m.youtube.com", "YouTube"}},
		{"https://youtu.be/x", Info{"youtu.be", "YouTube"}},
		{"https://www.pinterest.co.uk/", Info{"pinterest.co.uk", "Pinterest"}},
		{"https://github.com/websystems", Info{"github.com", "GitHub"}},
		{"https://news.ycombinator.com/item?id=1", Info{"news.ycombinator.com", "Hacker News"}},
		{"https://en.m.wikipedia.org/wiki/Tallinn", Info{"en.m.wikipedia.org", "Wikipedia"}},
		{"https://www.tiktok.com/", Info{"tiktok.com", "TikTok"}},
		{"https://mastodon.social/@x", Info{"mastodon.social", "Mastodon"}},
		// other sites: the host is the source
		{"https://blog.other.org/post", Info{"blog.other.org", "blog.other.org"}},
		{"HTTP://WWW.Other.ORG.:8080/x", Info{"other.org", "other.org"}},
		{"https://www.ycombinator.com/", Info{"ycombinator.com", "ycombinator.com"}},
		{"https://google.blogspot.com/", Info{"google.blogspot.com", "google.blogspot.com"}},
		{"https://someone.github.io/", Info{"someone.github.io", "someone.github.io"}},
		{"https://google.evil.com/", Info{"google.evil.com", "google.evil.com"}},
		{"https://www.com/", Info{"www.com", "www.com"}},
		{"http://192.168.0.1:8080/", Info{"192.168.0.1", "192.168.0.1"}},
		{"http://[2001:db8::1]/", Info{"2001:db8::1", "2001:db8::1"}},
		{"http://localhost:3000/", Info{"localhost", "localhost"}},
		{"https://user:pw@other.org/", Info{"other.org", "other.org"}},
		{"https://other.org\\@evil.com/", Info{"other.org", "other.org"}},
		{"https://other.org?x", Info{"other.org", "other.org"}},
		{"https://other.org/" + strings.Repeat("x", 100000), Info{"other.org", "other.org"}},
		// no external referrer
		{"", Info{}},
		{"   ", Info{}},
		{"android-app://com.google.android.gm/", Info{}},
		{"ftp://other.org/", Info{}},
		{"javascript:alert(1)", Info{}},
		{"other.org", Info{}},
		{"//other.org/", Info{}},
		{"https://", Info{}},
		{"https://exa mple.org/", Info{}},
		{"https://a..b/", Info{}},
		{"https://[::1/", Info{}},
		{"https://" + strings.Repeat("a", 600) + ".org/", Info{}},
		{"https://example.com/page", Info{}},
		{"https://www.example.com/", Info{}},
		{"https://blog.EXAMPLE.com.:443/", Info{}},
	}
	for _, tt := range tests {
		if got := Parse(tt.raw, site); got != tt.want {
			t.Errorf("Parse(%.60q, %q) = %+v, want %+v", tt.raw, site, got, tt.want)
		}
	}
}

func TestParseSelfReferral(t *testing.T) {
	tests := []struct {
		raw, site string
		self      bool
	}{
		{"https://example.com/", "www.example.com", true},
		{"https://shop.example.com/", "example.com", true},
		{"https://example.com/", "shop.example.com", false},
		{"https://notexample.com/", "example.com", false},
		{"https://example.com.evil.org/", "example.com", false},
		{"https://example.com/", "", false},
	}
	for _, tt := range tests {
		got := Parse(tt.raw, tt.site)
		if (got == Info{}) != tt.self {
			t.Errorf("Parse(%q, %q) = %+v, self-referral %v", tt.raw, tt.site, got, tt.self)
		}
	}
}
