package pageurl

import (
	"net/url"
	"slices"
	"strings"
	"unicode"
)

// utmOf reads the campaign parameters. As Plausible does, "ref" and then
// "source" stand in for a missing utm_source: many sites link with ?ref=.
func utmOf(rawQuery string) UTM {
	var v [len(utmKeys)]string
	queryParams(rawQuery, &v)
	for i := range v {
		v[i] = cleanParam(v[i])
	}
	source := v[keySource]
	for _, alt := range []int{keyRef, keySourceAlt} {
		if source == "" {
			source = v[alt]
		}
	}
	return UTM{Source: source, Medium: v[keyMedium], Campaign: v[keyCampaign], Term: v[keyTerm], Content: v[keyContent]}
}

// utmKeys are the query parameters read, in the order of the key constants.
var utmKeys = [...]string{"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "ref", "source"}

const (
	keySource = iota
	keyMedium
	keyCampaign
	keyTerm
	keyContent
	keyRef
	keySourceAlt
)

// queryParams sets values[i] to the first value of utmKeys[i] in rawQuery, reading
// pairs as url.ParseQuery does (pairs with a semicolon or a bad escape are skipped)
// but decoding only the values it keeps, not every parameter of the page.
func queryParams(rawQuery string, values *[len(utmKeys)]string) {
	var seen [len(utmKeys)]bool
	for rawQuery != "" {
		var pair string
		pair, rawQuery, _ = strings.Cut(rawQuery, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue
		}
		rawKey, rawValue, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(rawKey)
		if err != nil {
			continue
		}
		i := slices.Index(utmKeys[:], key)
		if i < 0 || seen[i] {
			continue
		}
		if value, err := url.QueryUnescape(rawValue); err == nil {
			values[i], seen[i] = value, true
		}
	}
}

func cleanParam(v string) string {
	v = strings.ToValidUTF8(v, "\uFFFD")
	v = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || !unicode.IsGraphic(r) && !unicode.IsSpace(r) {
			return -1
		}
		return r
	}, v)
	return strings.TrimSpace(truncate(strings.TrimSpace(v), MaxUTMLen))
}
