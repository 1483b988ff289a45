package referrer

import (
	"net/netip"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// byDomain names sources by registrable domain (so l.facebook.com and
// m.facebook.com are Facebook) or, where the registrable domain is shared
// with something else, by exact host (news.ycombinator.com).
var byDomain = map[string]string{
	"bing.com":             "Bing",
	"duckduckgo.com":       "DuckDuckGo",
	"baidu.com":            "Baidu",
	"ecosia.org":           "Ecosia",
	"ya.ru":                "Yandex",
	"facebook.com":         "Facebook",
	"fb.me":                "Facebook",
	"instagram.com":        "Instagram",
	"twitter.com":          "Twitter",
	"x.com":                "Twitter",
	"t.co":                 "Twitter",
	"linkedin.com":         "LinkedIn",
	"lnkd.in":              "LinkedIn",
	"reddit.com":           "Reddit",
	"youtube.com":          "YouTube",
	"youtu.be":             "YouTube",
	"github.com":           "GitHub",
	"news.ycombinator.com": "Hacker News",
	"wikipedia.org":        "Wikipedia",
	"tiktok.com":           "TikTok",
	"mastodon.social":      "Mastodon",
	"bsky.app":             "Bluesky",
	"threads.net":          "Threads",
	"t.me":                 "Telegram",
	"chatgpt.com":          "ChatGPT",
	"chat.openai.com":      "ChatGPT",
	"perplexity.ai":        "Perplexity",
}

// byBrand names sources that run the same site under many country domains
// (google.de, google.co.uk, yandex.ru, yahoo.co.jp), by the label in front
// of an ICANN public suffix. Private suffixes are excluded so that
// google.blogspot.com, a blog, is not Google.
var byBrand = map[string]string{
	"google":    "Google",
	"yahoo":     "Yahoo",
	"yandex":    "Yandex",
	"pinterest": "Pinterest",
}

// sourceOf returns the friendly name of host, or host itself.
func sourceOf(host string) string {
	if name, ok := byDomain[host]; ok {
		return name
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return host
	}
	domain, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil {
		return host // a bare suffix or a name like "localhost"
	}
	if name, ok := byDomain[domain]; ok {
		return name
	}
	if suffix, icann := publicsuffix.PublicSuffix(domain); icann {
		if name, ok := byBrand[strings.TrimSuffix(domain, "."+suffix)]; ok {
			return name
		}
	}
	return host
}
