package useragent

import (
	"sync"
	"testing"

	"github.com/ua-parser/uap-go/uaparser"
)

// FuzzParse checks that no input panics or breaks an invariant, and that a
// cached answer equals a fresh one.
func FuzzParse(f *testing.F) {
	for _, ua := range append(append([]string{}, botUAs...), humanUAs...) {
		f.Add(ua)
	}
	cached, fresh := NewParser(64), NewParser(0)
	f.Fuzz(func(t *testing.T, ua string) {
		info := cached.Parse(ua)
		checkInvariants(t, ua, info)
		if again := fresh.Parse(ua); again != info {
			t.Errorf("Parse(%q): cached %+v, fresh %+v", ua, info, again)
		}
	})
}

var referenceParser = sync.OnceValue(func() *uaparser.Parser {
	p, _ := uaparser.New(uaparser.WithCacheSize(1))
	return p
})

// FuzzCrawlerRules checks the fast crawler decision against uap-go's own
// parser, and that the literal factors never skip a rule that matches.
func FuzzCrawlerRules(f *testing.F) {
	for _, ua := range referenceOnlyUAs {
		f.Add(ua)
	}
	c, err := defaultCrawlerRules()
	if err != nil {
		f.Fatal(err)
	}
	ref := referenceParser()
	f.Fuzz(func(t *testing.T, ua string) {
		ua = ua[:min(len(ua), MaxLen)] // as Parse does; the reference is slow on more
		want := ref.ParseDevice(ua).Family == spiderFamily
		if got := c.isCrawler(ua, fold(ua)); got != want {
			t.Errorf("isCrawler(%q) = %v, uap-go says %v", ua, got, want)
		}
		checkFactors(t, c, ua)
	})
}
