package useragent

import (
	"strings"
	"sync"
	"testing"
)

// testParser is shared: building a parser compiles the crawler list.
var testParser = sync.OnceValue(func() *Parser { return NewParser(1000) })

const (
	chromeWin   = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
	safariMac   = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15"
	safariIOS   = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1"
	chromeDroid = "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36"
	googlebot   = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	gptbot      = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.0; +https://openai.com/gptbot)"
)

func TestParseFields(t *testing.T) {
	tests := []struct {
		name, ua string
		want     Info
	}{
		{"chrome windows", chromeWin, Info{"Chrome", "120", "Windows", "10", Desktop, false}},
		{"edge windows", chromeWin + " Edg/120.0.2210.91", Info{"Edge", "120", "Windows", "10", Desktop, false}},
		{"opera windows", chromeWin + " OPR/106.0.0.0", Info{"Opera", "106", "Windows", "10", Desktop, false}},
		{"firefox windows 7", "Mozilla/5.0 (Windows NT 6.1; Win64; x64; rv:109.0) Gecko/20100101 Firefox/115.0",
			Info{"Firefox", "115", "Windows", "7", Desktop, false}},
		{"firefox linux", "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
			Info{"Firefox", "121", "Linux", "", Desktop, false}},
		{"safari mac", safariMac, Info{"Safari", "17", "macOS", "10.15", Desktop, false}},
		{"firefox mac dotted version", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:121.0) Gecko/20100101 Firefox/121.0",
			Info{"Firefox", "121", "macOS", "10.15", Desktop, false}},
		{"chromeos", "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
			Info{"Chrome", "120", "ChromeOS", "", Desktop, false}},
		{"internet explorer 11", "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko",
			Info{"Internet Explorer", "", "Windows", "7", Desktop, false}},
		{"safari iphone", safariIOS, Info{"Safari", "17", "iOS", "17.2", Mobile, false}},
		{"safari ipad", "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
			Info{"Safari", "16", "iOS", "16.6", Tablet, false}},
		{"chrome iphone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1",
			Info{"Chrome", "120", "iOS", "17.1", Mobile, false}},
		{"instagram in-app", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 312.0.0.32.112 (iPhone14,5; iOS 17_2; en_US; en; scale=3.00; 1170x2532; 548339486)",
			Info{"Safari", "", "iOS", "17.2", Mobile, false}},
		{"chrome android phone", chromeDroid, Info{"Chrome", "120", "Android", "14", Mobile, false}},
		{"chrome android tablet", "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
			Info{"Chrome", "120", "Android", "13", Tablet, false}},
		{"android minor version", "Mozilla/5.0 (Linux; Android 6.0.1; SM-G920F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/106.0.0.0 Mobile Safari/537.36",
			Info{"Chrome", "106", "Android", "6.0", Mobile, false}},
		{"firefox android tablet", "Mozilla/5.0 (Android 14; Tablet; rv:121.0) Gecko/121.0 Firefox/121.0",
			Info{"Firefox", "121", "Android", "14", Tablet, false}},
		{"samsung internet", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
			Info{"Samsung Internet", "23", "Android", "10", Mobile, false}},
		{"kindle silk", "Mozilla/5.0 (Linux; Android 9; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/120.3.1 like Chrome/120.0.6099.230 Safari/537.36",
			Info{"Amazon Silk", "120", "Android", "9", Tablet, false}},
		{"cubot phone", "Mozilla/5.0 (Linux; Android 10; CUBOT_X19) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
			Info{"Chrome", "120", "Android", "10", Mobile, false}},
		{"opera mini", "Opera/9.80 (Android; Opera Mini/36.2.2254/119.132; U; id) Presto/2.12.423 Version/12.16",
			Info{"Opera Mini", "36", "Android", "", Mobile, false}},
		{"surrounding spaces", "  " + chromeWin + "  ", Info{"Chrome", "120", "Windows", "10", Desktop, false}},
		{"empty", "", Info{Device: Desktop, Bot: true}},
		{"blank", " \t ", Info{Device: Desktop, Bot: true}},
		{"bare mozilla", "Mozilla/5.0", Info{Device: Desktop, Bot: true}},
		{"curl", "curl/8.5.0", Info{Device: Desktop, Bot: true}},
		{"googlebot", googlebot, Info{Device: Desktop, Bot: true}},
	}
	p := testParser()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Parse(tt.ua); got != tt.want {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v", tt.ua, got, tt.want)
			}
		})
	}
}

func TestParseNasty(t *testing.T) {
	p := testParser()
	for _, ua := range []string{
		strings.Repeat("Mozilla/5.0 (", 1000),
		"Mozilla/5.0 (Windows NT 99999999999999999999.0) Chrome/99999999999999999999999999999",
		"Mozilla/5.0 (iPhone; CPU iPhone OS \xff\xfe like Mac OS X) Version/\x00",
		"Mozilla/5.0 (Linux; Android " + strings.Repeat("9", 600) + ")",
		"Mozilla/5.0 (Windows NT 10.0) Chrome/120.0 \u212Aelvin \u017Fpider",
		strings.Repeat("\x00", MaxLen*3),
	} {
		info := p.Parse(ua)
		checkInvariants(t, ua, info)
	}
}

func TestParseTruncatesLongUserAgents(t *testing.T) {
	p := NewParser(10)
	long := chromeWin + strings.Repeat(" x", MaxLen)
	if got, want := p.Parse(long), p.Parse(chromeWin); got != want {
		t.Errorf("long UA: got %+v, want %+v", got, want)
	}
	if _, whole := p.cache.Get(long); whole || p.cache.Len() != 2 {
		t.Errorf("cache holds %d entries (the whole long UA: %v), want its first %d bytes and the short one", p.cache.Len(), whole, MaxLen)
	}
}

// TestParseDoesNotAliasInput simulates Fiber, whose header strings are views
// of a buffer that is reused for the next request.
func TestParseDoesNotAliasInput(t *testing.T) {
	p := NewParser(10)
	buf := []byte(safariIOS)
	ua := unsafeString(buf)
	first := p.Parse(ua)
	for i := range buf {
		buf[i] = 'x'
	}
	if again := p.Parse(safariIOS); again != first {
		t.Errorf("after reusing the buffer: got %+v, want %+v", again, first)
	}
	if first.OSVersion != "17.2" {
		t.Errorf("OSVersion changed with the buffer: %q", first.OSVersion)
	}
}

func TestParseWithoutCache(t *testing.T) {
	p := NewParser(0)
	if got, want := p.Parse(chromeWin), testParser().Parse(chromeWin); got != want {
		t.Errorf("uncached: got %+v, want %+v", got, want)
	}
}

func TestParseConcurrent(t *testing.T) {
	p := NewParser(8)
	uas := []string{chromeWin, safariMac, safariIOS, chromeDroid, googlebot, gptbot, "curl/8", ""}
	want := make([]Info, len(uas))
	for i, ua := range uas {
		want[i] = p.Parse(ua)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				k := (g + i) % len(uas)
				if got := p.Parse(uas[k]); got != want[k] {
					t.Errorf("Parse(%q) = %+v, want %+v", uas[k], got, want[k])
					return
				}
			}
		})
	}
	wg.Wait()
}
