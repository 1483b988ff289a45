// Package referrer reduces a page view's referrer to the host it came from
// and a source name for the dashboard ("Google" for google.de, google.co.uk
// and www.google.com alike). Only the scheme and host are read: the path
// and query of a referrer are never looked at nor stored.
package referrer

import (
	"net/url"
	"strings"

	"github.com/websystems/loendur/internal/cache"
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

// Parser is Parse with a bounded cache of what each referrer host resolves to: the
// same few hundred hosts (search engines, social sites) refer most visits. Only the
// host part is a key, never a path or query, nor a host with user info.
type Parser struct {
	hosts *cache.Map[resolved]
}

// resolved is what a referrer's authority (user info, host, port) resolves to.
type resolved struct {
	host string // clean host, before "www." is dropped; "" when unusable
	info Info
}

// NewParser returns a parser that remembers about cacheSize hosts; <= 0 disables it.
func NewParser(cacheSize int) *Parser { return &Parser{hosts: cache.New[resolved](cacheSize)} }

var uncached = NewParser(0)

// Parse is Parser.Parse without a cache.
func Parse(raw, siteDomain string) Info { return uncached.Parse(raw, siteDomain) }

// Parse returns the referrer's host and source name. It returns an empty
// Info when raw is empty, not an http(s) URL, unparseable, or a
// self-referral: its host is siteDomain or a subdomain of it (a "www."
// prefix of siteDomain is ignored, so www.example.com and example.com are
// the same site).
//
// Host drops a leading "www." so that links from www.example.com and
// example.com count as one referrer, as visitors see them as one site.
func (p *Parser) Parse(raw, siteDomain string) Info {
	authority, ok := authorityOf(raw)
	if !ok {
		return Info{}
	}
	r, hit := p.hosts.Get(authority)
	if !hit {
		r = resolve(authority)
		if !strings.Contains(authority, "@") {
			p.hosts.Put(strings.Clone(authority), r)
		}
	}
	if r.host == "" || pageurl.BelongsTo(r.host, trimWWW(siteDomain)) {
		return Info{}
	}
	return r.info
}

// authorityOf is the user-info, host and port part of an http(s) URL.
func authorityOf(raw string) (string, bool) {
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
	return rest, true
}

func resolve(authority string) resolved {
	u, err := url.Parse("http://" + authority)
	if err != nil {
		return resolved{}
	}
	host, ok := pageurl.CleanHost(u.Host)
	if !ok {
		return resolved{}
	}
	trimmed := trimWWW(host)
	return resolved{host: host, info: Info{Host: trimmed, Source: sourceOf(trimmed)}}
}

func trimWWW(host string) string {
	if rest, ok := strings.CutPrefix(strings.ToLower(host), "www."); ok && strings.Contains(rest, ".") {
		return rest
	}
	return host
}
