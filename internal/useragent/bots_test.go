package useragent

import (
	"testing"

	"github.com/ua-parser/uap-go/uaparser"
)

// botUAs must be recognised as bots, each for the reason in its comment.
var botUAs = []string{
	// empty and HTTP libraries: not a browser at all
	"", "   ", "curl/8.5.0", "Wget/1.21.4", "python-requests/2.31.0", "Go-http-client/1.1",
	"Python-urllib/3.11", "okhttp/4.12.0", "Java/17.0.2", "axios/1.6.2", "node-fetch/1.0",
	"Apache-HttpClient/4.5.14 (Java/17.0.9)", "libwww-perl/6.72", "Mozilla/5.0",
	"Mozilla/5.0 (compatible; curl/8.5.0)",
	// headless browsers and automation
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
	"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1",
	"Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse",
	// self-declared crawlers (uap-core's list, or a contact URL)
	googlebot, gptbot,
	"Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.71 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
	"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
	"Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
	"Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
	"Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
	"Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
	"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 14_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/14.0 Mobile/15E148 Safari/604.1 (compatible; DuckDuckBot-Https/1.1; https://duckduckgo.com/duckduckbot)",
	"Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; Bytespider; spider-feedback@bytedance.com)",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0 (Web Preview) Slackbot-LinkExpanding 1.0",
	"Mozilla/5.0 (compatible; MJ12bot/v1.4.8; http://mj12bot.com/)",
	"Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)",
	"Mozilla/5.0 (compatible; PetalBot;+https://webmaster.petalsearch.com/site/petalbot)",
	"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 PTST/231214.162512",
	"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
	"Twitterbot/1.0", "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
	"WhatsApp/2.23.20.0", "Mozilla/5.0 (compatible; SomeNewCrawler/0.1)",
	// a crawler shell on Electron: the framework's default user agent
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Electron/28.0.0",
}

// humanUAs are browsers people use, including in-app browsers and devices
// whose names contain words of the crawler list ("Silk", "Cubot").
var humanUAs = []string{
	chromeWin, safariMac, safariIOS, chromeDroid,
	chromeWin + " Edg/120.0.2210.91",
	"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
	"Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 9; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/120.3.1 like Chrome/120.0.6099.230 Safari/537.36",
	"Mozilla/5.0 (Linux; Android 10; CUBOT_X19) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 312.0.0.32.112 (iPhone14,5; iOS 17_2; en_US; en; scale=3.00; 1170x2532; 548339486)",
	"Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.144 Mobile Safari/537.36 Instagram 312.1.0.34.111 Android (34/14; 480dpi; 1080x2340; samsung; SM-S918B; dm3q; qcom; en_US; 548323757)",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/444.0.0.35.112;FBBV/547432412;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/17.2;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5]",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [Pinterest/iOS]",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) GSA/300.0.598994534 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230901.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.43 Mobile Safari/537.36 GoogleApp/15.0",
	"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0",
	"Opera/9.80 (Android; Opera Mini/36.2.2254/119.132; U; id) Presto/2.12.423 Version/12.16",
	"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
	"Mozilla/5.0 (SMART-TV; Linux; Tizen 7.0) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/5.0 Chrome/85.0.4183.93 TV Safari/537.36",
	"Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0 Safari/605.1.15",
	"Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko",
}

func TestBots(t *testing.T) {
	p := testParser()
	for _, ua := range botUAs {
		if !p.Parse(ua).Bot {
			t.Errorf("Parse(%q).Bot = false, want true", ua)
		}
	}
	for _, ua := range humanUAs {
		if p.Parse(ua).Bot {
			t.Errorf("Parse(%q).Bot = true, want false", ua)
		}
	}
}

func TestCrawlerRulesLoad(t *testing.T) {
	c, err := defaultCrawlerRules()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.rules) < 500 || len(c.spiders) < 3 {
		t.Errorf("%d rules, %d spider rules: uap-core's list shrank?", len(c.rules), len(c.spiders))
	}
	if testParser().crawlers == nil {
		t.Error("parser has no crawler list")
	}
}

func TestCrawlerRulesRejectBadInput(t *testing.T) {
	for _, doc := range []string{
		"device_parsers: [",
		"device_parsers:\n  - regex: '(unclosed'\n    device_replacement: 'Spider'\n",
		"device_parsers:\n  - regex: 'iPhone'\n    device_replacement: 'iPhone'\n",
	} {
		if _, err := loadCrawlerRules([]byte(doc)); err == nil {
			t.Errorf("loadCrawlerRules(%q): no error", doc)
		}
	}
}

// TestCrawlerRulesMatchReference checks that the fast evaluation gives the
// same answer as uap-go's own parser, the reference for uap-core's list.
func TestCrawlerRulesMatchReference(t *testing.T) {
	c, err := defaultCrawlerRules()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := uaparser.New(uaparser.WithCacheSize(1))
	if err != nil {
		t.Fatal(err)
	}
	for _, ua := range append(append(append([]string{}, botUAs...), humanUAs...), referenceOnlyUAs...) {
		want := ref.ParseDevice(ua).Family == spiderFamily
		if got := c.isCrawler(ua, fold(ua)); got != want {
			t.Errorf("isCrawler(%q) = %v, uap-go says %v", ua, got, want)
		}
	}
}

// referenceOnlyUAs exercise rule order: each matches a spider rule and,
// for some, an earlier device rule that takes precedence.
var referenceOnlyUAs = []string{
	"Mozilla/5.0 (Linux; U; Android 4.0.3; ko-kr; LG-L160L Build/IML74K) AppleWebkit/534.30 (KHTML, like Gecko) Version/4.0 Mobile Safari/534.30 bot.html",
	"Mozilla/5.0 (Linux; Android 7.0; SM-G930V Build/NRD90M) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/59.0.3071.125 Mobile Safari/537.36 (compatible; Google-Read-Aloud; +https://support.google.com/webmasters/answer/1061943)",
	"SAMSUNG-SGH-E250/1.0 Profile/MIDP-2.0 Configuration/CLDC-1.1 UP.Browser/6.2.3.3.c.1.101 (GUI) MMP/2.0 (compatible; Googlebot-Mobile/2.1; +http://www.google.com/bot.html)",
	"Mozilla/5.0 (Linux; Android 10; HRY-LX1) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; PetalBot;+https://webmaster.petalsearch.com/site/petalbot)",
	"X11; Datanyze; Linux",
	"Mozilla/5.0 (Linux; Android 9; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/120.3.1 like Chrome/120.0.6099.230 Safari/537.36",
	"\u212Aelvin-crawler \u017Fpider",
}

func TestNamesCrawler(t *testing.T) {
	for s, want := range map[string]bool{
		"x (compatible; googlebot/2.1)": true, "duckduckbot-https/1.1": true, "slackbot": true,
		"bytespider;": true, "sitecrawler": true, "scraper/1": true,
		"cubot_x19": false, "cubot p50": false, "abbott": false, "bottle": false, "": false,
	} {
		if got := namesCrawler(s); got != want {
			t.Errorf("namesCrawler(%q) = %v, want %v", s, got, want)
		}
	}
}
