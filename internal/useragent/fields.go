package useragent

import (
	"strings"

	medama "github.com/medama-io/go-useragent"
	"github.com/medama-io/go-useragent/agents"
)

// Names are pinned here rather than passed through from the library, so
// that stored values do not change when the library renames something.
var browserNames = map[agents.Browser]string{
	agents.BrowserAndroid:   "Android Browser",
	agents.BrowserChrome:    "Chrome",
	agents.BrowserEdge:      "Edge",
	agents.BrowserFirefox:   "Firefox",
	agents.BrowserIE:        "Internet Explorer",
	agents.BrowserOpera:     "Opera",
	agents.BrowserOperaMini: "Opera Mini",
	agents.BrowserSafari:    "Safari",
	agents.BrowserVivaldi:   "Vivaldi",
	agents.BrowserSilk:      "Amazon Silk",
	agents.BrowserSamsung:   "Samsung Internet",
	agents.BrowserFalkon:    "Falkon",
	agents.BrowserNintendo:  "Nintendo Browser",
	agents.BrowserYandex:    "Yandex Browser",
	agents.BrowserHuawei:    "Huawei Browser",
}

var osNames = map[agents.OS]string{
	agents.OSAndroid:  "Android",
	agents.OSChromeOS: "ChromeOS",
	agents.OSIOS:      "iOS",
	agents.OSLinux:    "Linux",
	agents.OSFreeBSD:  "FreeBSD",
	agents.OSOpenBSD:  "OpenBSD",
	agents.OSMacOS:    "macOS",
	agents.OSWindows:  "Windows",
}

// fieldsOf fills every field of Info but Bot.
func fieldsOf(ua string, m medama.UserAgent) Info {
	info := Info{
		Browser:        browserNames[m.Browser()],
		BrowserVersion: majorVersion(m),
		OS:             osNames[m.OS()],
		Device:         deviceOf(ua, m),
	}
	if info.OS == "" && strings.Contains(ua, "Web0S") {
		info.OS = "webOS" // LG's TVs, which the trie does not know
	}
	info.OSVersion = osVersion(ua, info.OS)
	if info.Browser == "" {
		info.BrowserVersion = ""
	}
	if strings.Contains(ua, operaMini) {
		// "Opera/9.80 (Android; Opera Mini/36.2...)" defeats the trie, which
		// skips what follows "Android" up to the closing parenthesis.
		info.Browser, info.Device = "Opera Mini", Mobile
		info.BrowserVersion, _ = digits(ua[strings.Index(ua, operaMini)+len(operaMini):])
	}
	return info
}

const operaMini = "Opera Mini/"

// majorVersion returns the browser's major version, digits only.
func majorVersion(m medama.UserAgent) string {
	if m.IsIE() {
		// The trie reads IE 11's version from its "Trident/7.0" token.
		return ""
	}
	v := m.BrowserVersionMajor()
	if v == "" || strings.Trim(v, "0123456789") != "" || len(v) > 5 {
		return ""
	}
	return v
}

// deviceOf maps the library's device type to the three classes shown. TVs
// and consoles count as desktop: they are big screens without touch. An
// Android user agent without "Mobile" is a tablet by Google's convention,
// which the library does not apply.
func deviceOf(ua string, m medama.UserAgent) string {
	switch {
	case m.IsTablet():
		return Tablet
	case m.IsAndroidOS() && !m.IsOperaMini() && !strings.Contains(ua, "Mobile"):
		return Tablet
	case m.IsMobile():
		return Mobile
	}
	return Desktop
}
