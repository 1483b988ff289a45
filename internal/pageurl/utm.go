package pageurl

import (
	"net/url"
	"strings"
	"unicode"
)

// utmOf reads the campaign parameters. As Plausible does, "ref" and then
// "source" stand in for a missing utm_source: many sites link with ?ref=.
func utmOf(rawQuery string) UTM {
	if rawQuery == "" {
		return UTM{}
	}
	q, _ := url.ParseQuery(rawQuery) // keeps the pairs it could parse
	source := param(q, "utm_source")
	for _, alt := range []string{"ref", "source"} {
		if source == "" {
			source = param(q, alt)
		}
	}
	return UTM{
		Source:   source,
		Medium:   param(q, "utm_medium"),
		Campaign: param(q, "utm_campaign"),
		Term:     param(q, "utm_term"),
		Content:  param(q, "utm_content"),
	}
}

// param returns the first value of key, made fit to store: valid UTF-8
// without control characters, trimmed and at most MaxUTMLen bytes.
func param(q url.Values, key string) string {
	v := strings.ToValidUTF8(q.Get(key), "\uFFFD")
	v = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || !unicode.IsGraphic(r) && !unicode.IsSpace(r) {
			return -1
		}
		return r
	}, v)
	return strings.TrimSpace(truncate(strings.TrimSpace(v), MaxUTMLen))
}
