package pageurl

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// pathname returns the path of u as the browser's address bar shows it:
// percent-escapes of letters, digits and harmless punctuation are decoded
// ("/%C3%BCber" becomes "/über"), while escapes that would change the
// meaning or hide something ("%2F", "%3F", "%20", control and format
// characters, invalid UTF-8) stay escaped. So the result never contains '?',
// '#', white space or control characters, and is valid UTF-8.
func pathname(u *url.URL) string {
	p := u.EscapedPath()
	if u.RawPath != "" && p != u.RawPath {
		// The path as sent holds bytes a path may not hold raw (a raw "ü", a space).
		// EscapedPath then escapes the decoded path again, and an escaped slash in it
		// comes back as '/', another path: escape those bytes of the path as sent.
		p = escapeRaw(u.RawPath)
	}
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	return truncatePath(decodeReadable(p), MaxPathnameLen)
}

// escapeRaw escapes the bytes of a path as sent that url.URL.EscapedPath does not take
// raw; its escapes, which url.Parse has checked, stay as they are.
func escapeRaw(p string) string {
	const upperHex = "0123456789ABCDEF"
	var b strings.Builder
	for i := range len(p) {
		if c := p[i]; c == '%' || isAlnum(c) || strings.IndexByte("-_.~!$&'()*+,;=:@[]/", c) >= 0 {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(upperHex[c>>4])
			b.WriteByte(upperHex[c&15])
		}
	}
	return b.String()
}

// decodeReadable decodes the percent-escapes of an escaped path whose result
// is readable, see pathname.
func decodeReadable(p string) string {
	if strings.IndexByte(p, '%') < 0 {
		return p // nothing to decode: no copy
	}
	var b strings.Builder
	for i := 0; i < len(p); {
		if p[i] != '%' {
			b.WriteByte(p[i])
			i++
			continue
		}
		raw, decoded := escapeRun(p[i:])
		b.WriteString(readable(raw, decoded))
		i += len(raw)
	}
	return b.String()
}

// escapeRun returns the leading run of %XX escapes of s and the bytes they
// encode. A lone or broken '%' is a run of its own that decodes to nothing.
func escapeRun(s string) (raw string, decoded []byte) {
	n := 0
	for escapeAt(s, n) {
		decoded = append(decoded, unhex(s[n+1])<<4|unhex(s[n+2]))
		n += 3
	}
	if n == 0 {
		return s[:1], nil
	}
	return s[:n], decoded
}

// readable returns the run decoded rune by rune where the rune is safe to
// show, and the escapes (in upper case) elsewhere.
func readable(raw string, decoded []byte) string {
	if decoded == nil {
		return "%25" // a stray '%' becomes a literal percent sign, escaped
	}
	var b strings.Builder
	for i := 0; i < len(decoded); {
		r, size := utf8.DecodeRune(decoded[i:])
		if r != utf8.RuneError && showable(r) {
			b.WriteRune(r)
		} else {
			b.WriteString(strings.ToUpper(raw[3*i : 3*(i+size)])) // canonical %XX
		}
		i += size
	}
	return b.String()
}

// showable is true for runes that read the same decoded and cannot alter
// how the path is parsed or displayed.
func showable(r rune) bool {
	if r < utf8.RuneSelf {
		return isAlnum(byte(r)) || strings.ContainsRune("-._~!$&'()*+,;=:@", r)
	}
	return unicode.IsGraphic(r) && !unicode.IsSpace(r)
}

// truncatePath cuts an escaped path like truncate, and also never in the
// middle of a %XX escape.
func truncatePath(s string, n int) string {
	s = truncate(s, n)
	if i := strings.LastIndexByte(s, '%'); i >= 0 && i > len(s)-3 {
		s = s[:i]
	}
	return s
}

// truncate cuts the valid UTF-8 string s to at most n bytes without
// splitting a rune.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 {
		if r, size := utf8.DecodeLastRuneInString(s); r != utf8.RuneError || size > 1 {
			break
		}
		s = s[:len(s)-1]
	}
	return s
}

// escapeAt reports whether s holds a %XX escape at i: '%' and two hex digits.
func escapeAt(s string, i int) bool {
	return i+2 < len(s) && s[i] == '%' && isHex(s[i+1]) && isHex(s[i+2])
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
