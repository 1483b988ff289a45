package pageurl

import (
	"net/netip"
	"strings"
	"unicode"
)

// maxHostLen is the longest DNS name.
const maxHostLen = 253

// CleanHost returns host (which may carry a port) in the form loendur
// compares and stores: lower case, without port and without trailing dot.
// It reports false when the result is not a plausible host name or IP
// address, e.g. empty, too long, with an empty label or odd characters.
func CleanHost(host string) (string, bool) {
	h := strings.TrimSuffix(strings.ToLower(stripPort(host)), ".")
	if h == "" || len(h) > maxHostLen {
		return "", false
	}
	if strings.Contains(h, ":") { // only an IPv6 address has colons here
		a, err := netip.ParseAddr(h)
		if err != nil || !a.Is6() {
			return "", false
		}
		return a.String(), true
	}
	for _, label := range strings.Split(h, ".") {
		if !validLabel(label) {
			return "", false
		}
	}
	return h, true
}

// validLabel accepts letters and digits of any script (host names arrive
// both as punycode and as Unicode), '-' and '_'.
func validLabel(label string) bool {
	if label == "" {
		return false
	}
	for _, r := range label {
		if r != '-' && r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

// stripPort removes a ":port" suffix and the brackets of an IPv6 literal.
// A bare IPv6 address (several colons, no brackets) is returned unchanged.
func stripPort(host string) string {
	if strings.HasPrefix(host, "[") {
		if end := strings.IndexByte(host, ']'); end > 0 {
			return host[1:end]
		}
		return host
	}
	if i := strings.IndexByte(host, ':'); i >= 0 && strings.Count(host, ":") == 1 {
		return host[:i]
	}
	return host
}

// BelongsTo reports whether host is domain or one of its subdomains, so that
// "blog.example.com" belongs to "example.com" but "badexample.com" does not.
// Case, a trailing dot and a port are ignored on both sides.
func BelongsTo(host, domain string) bool {
	h := strings.TrimSuffix(strings.ToLower(stripPort(host)), ".")
	d := strings.TrimSuffix(strings.ToLower(stripPort(domain)), ".")
	if d == "" || h == "" {
		return false
	}
	return h == d || strings.HasSuffix(h, "."+d)
}
