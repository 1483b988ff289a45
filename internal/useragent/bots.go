package useragent

import (
	"strings"

	medama "github.com/medama-io/go-useragent"
)

// automationTokens mark tools that run or imitate a browser and can execute
// the tracker: headless browsers and browser-automation frameworks, plus
// HTTP libraries that put "Mozilla/" in front of their name. They are
// compared against the lower-cased user agent. uap-core's crawler list does
// not cover them because it describes crawlers, not tools.
var automationTokens = []string{
	"headlesschrome", "headless chrome", "phantomjs", "slimerjs",
	"puppeteer", "playwright", "selenium", "webdriver", "cypress/",
	"chrome-lighthouse",
	"curl/", "wget/", "python-requests", "python-urllib", "aiohttp",
	"go-http-client", "okhttp", "axios/", "node-fetch", "apache-httpclient",
	"libwww-perl", "guzzlehttp",
	// Real browsers run by a machine, which neither crawler list names: synthetic
	// monitors (New Relic, Dynatrace and Datadog "Synthetics"), crawler shells built on
	// Electron or its wrapper Nightmare (a person's page view never comes from a desktop
	// app's own window), audit and consent scanners, and Office's link check before it
	// opens a link in the browser.
	"synthetic", "electron/", "nightmare/", "sitebulb", "cookieyes", "microsoft office/",
}

// isBot decides whether ua (trimmed, at most MaxLen bytes) is not a person
// using a browser; info holds the fields already parsed from it. The cheap
// checks come first, the crawler list last.
func (p *Parser) isBot(ua string, info Info, m medama.UserAgent) bool {
	switch {
	case !claimsBrowser(ua), m.IsBot():
		return true
	case info.Browser == "" && info.OS == "":
		return true // "Mozilla/5.0 (compatible; SomeCrawler)": no browser has neither
	case strings.Contains(ua, "://"):
		return true // a contact URL: crawlers add one, browsers never do
	}
	folded := fold(ua)
	if containsAny(folded, automationTokens) || namesCrawler(folded) {
		return true
	}
	if p.patterns != nil && p.patterns.matches(ua, folded) {
		return true
	}
	return p.crawlers != nil && p.crawlers.isCrawler(ua, folded)
}

// namesCrawler reports whether the folded user agent has a product token
// naming a crawler: "...bot" at the end of a word, "spider", "crawl" or
// "scrape". uap-core's device rules only look at the first 100 characters,
// so they miss crawlers that append their name to a full browser string
// ("... Safari/537.36 (compatible; Bytespider; ...)"); uap-core's own
// user-agent rules use the same words. "cubot" is a phone brand.
func namesCrawler(folded string) bool {
	if strings.Contains(folded, "spider") || strings.Contains(folded, "crawl") ||
		strings.Contains(folded, "scrape") {
		return true
	}
	for rest, i := folded, 0; ; rest = rest[i+3:] {
		if i = strings.Index(rest, "bot"); i < 0 {
			return false
		}
		wordEnd := i+3 == len(rest) || !isLetter(rest[i+3])
		if wordEnd && !(i >= 2 && rest[i-2:i] == "cu") {
			return true
		}
	}
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// claimsBrowser reports whether ua starts the way every browser able to run
// the tracker does: "Mozilla/" (all of them since the 2000s) or "Opera/"
// (Opera Mini and Presto). Anything else - empty, curl/8.5, python-requests,
// Go-http-client, Java, feed readers, most crawlers - is a program.
func claimsBrowser(ua string) bool {
	return strings.HasPrefix(ua, "Mozilla/") || strings.HasPrefix(ua, "Opera/")
}
