// Package referrer reduces a page view's referrer to the host it came from
// and a source name for the dashboard ("Google" for google.de, google.co.uk
// and www.google.com alike). Only the scheme and host are read: the path
// and query of a referrer are never looked at nor stored.
package referrer

import (
	"net/url"
	"strings"

	"github.com/websystems/loendur/internal/pageurl"
)

// Info describes where a visit came from. Both fields are empty when the
// visit has no external referrer.
type Info struct {
	Host   string // lower case, without port, trailing dot or "www." prefix
	Source string // a well-known name such as "Google", or else Host
}

// maxAuthorityLen bounds the user-info, host and port part that is parsed.
const maxAuthorityLen = 512

// Parse returns the referrer's host and source name. It returns an empty
// Info when raw is empty, not an http(s) URL, unparseable, or a
// self-referral: its host is siteDomain or a subdomain of it (a "www."
// prefix of siteDomain is ignored, so www.example.com and example.com are
// the same site).
//
// Host drops a leading "www." so that links from www.example.com and
// example.com count as one referrer, as visitors see them as one site.
func Parse(raw, siteDomain string) Info {
	host, ok := hostOf(raw)
	if !ok || pageurl.BelongsTo(host, trimWWW(siteDomain)) {
		return Info{}
	}
	host = trimWWW(host)
	return Info{Host: host, Source: sourceOf(host)}
}

// hostOf extracts the cleaned host of an http(s) URL. Only the authority is
// parsed, so that a long or odd path or query cannot make it fail or cost.
func hostOf(raw string) (string, bool) {
	scheme, rest, ok := strings.Cut(strings.TrimSpace(raw), "://")
	if !ok || !strings.EqualFold(scheme, "http") && !strings.EqualFold(scheme, "https") {
		return "", false
	}
	if end := strings.IndexAny(rest, `/?#\`); end >= 0 {
		rest = rest[:end] // browsers end the authority at a backslash too
	}
	if len(rest) > maxAuthorityLen {
		return "", false
	}
	u, err := url.Parse("http://" + rest)
	if err != nil {
		return "", false
	}
	return pageurl.CleanHost(u.Host)
}

// trimWWW removes one leading "www." unless nothing with a dot would remain.
func trimWWW(host string) string {
	if rest, ok := strings.CutPrefix(strings.ToLower(host), "www."); ok && strings.Contains(rest, ".") {
		return rest
	}
	return host
}
