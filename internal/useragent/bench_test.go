package useragent

import (
	"strconv"
	"testing"

	"github.com/ua-parser/uap-go/uaparser"
)

// BenchmarkParse measures Parse on a cache hit (the common case), and on a
// miss for a browser and for crawlers (which run uap-core's rules).
func BenchmarkParse(b *testing.B) {
	p := testParser()
	b.Run("cached", func(b *testing.B) {
		p.Parse(chromeDroid)
		for b.Loop() {
			p.Parse(chromeDroid)
		}
	})
	b.Run("cached-parallel", func(b *testing.B) {
		uas := []string{chromeWin, safariMac, safariIOS, chromeDroid, googlebot, gptbot}
		for _, ua := range uas {
			p.Parse(ua)
		}
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i++ {
				p.Parse(uas[i%len(uas)])
			}
		})
	})
	uncached := NewParser(0)
	for _, bc := range []struct{ name, ua string }{
		{"uncached-chrome-windows", chromeWin},
		{"uncached-safari-iphone", safariIOS},
		{"uncached-chrome-android", chromeDroid},
		{"uncached-kindle", humanUAs[7]}, // passes uap-core's filter: worst human case
		{"uncached-googlebot", googlebot},
		{"uncached-gptbot", gptbot},
		{"uncached-curl", "curl/8.5.0"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				uncached.Parse(bc.ua)
			}
		})
	}
	b.Run("uncached-crawler-list-only", func(b *testing.B) {
		// The last resort of isBot, for a crawler no cheaper check names.
		c, _ := defaultCrawlerRules()
		ua := "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120 Safari/537.36 Yeti/1.1"
		for b.Loop() {
			c.isCrawler(ua, fold(ua))
		}
	})
	b.Run("uncached-pattern-list-only-browser", func(b *testing.B) {
		// The second crawler list's literal index plus the few regexps it selects.
		l, err := defaultPatternList()
		if err != nil {
			b.Skip(err)
		}
		folded := fold(chromeWin)
		for b.Loop() {
			l.matches(chromeWin, folded)
		}
	})
	b.Run("uncached-pattern-list-only-monitor", func(b *testing.B) {
		l, err := defaultPatternList()
		if err != nil {
			b.Skip(err)
		}
		ua := "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Ghost Inspector"
		folded := fold(ua)
		for b.Loop() {
			l.matches(ua, folded)
		}
	})
	b.Run("miss-unique", func(b *testing.B) {
		// Every call a new user agent: what a flood of random ones costs.
		q := NewParser(1000)
		i := 0
		for b.Loop() {
			q.Parse(chromeWin + strconv.Itoa(i))
			i++
		}
	})
}

// BenchmarkStartup measures building the crawler list, the part of
// NewParser that each process pays once.
func BenchmarkStartup(b *testing.B) {
	b.Run("crawler-list", func(b *testing.B) {
		for b.Loop() {
			if _, err := loadCrawlerRules(uaparser.DefinitionYaml); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("pattern-list", func(b *testing.B) {
		doc, err := listFiles.ReadFile(patternListFile)
		if err != nil {
			b.Skip(err)
		}
		for b.Loop() {
			if _, err := loadPatternList(doc); err != nil {
				b.Fatal(err)
			}
		}
	})
}
