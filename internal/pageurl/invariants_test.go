package pageurl

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// checkPage asserts what must hold for every parsed page.
func checkPage(t *testing.T, raw string, p Page) {
	t.Helper()
	if p.Hostname == "" || p.Hostname != strings.ToLower(p.Hostname) || strings.HasSuffix(p.Hostname, ".") {
		t.Errorf("Parse(%q): bad Hostname %q", raw, p.Hostname)
	}
	if !strings.HasPrefix(p.Pathname, "/") || len(p.Pathname) > MaxPathnameLen ||
		strings.ContainsAny(p.Pathname, "?# \t\r\n") || !clean(p.Pathname) {
		t.Errorf("Parse(%q): bad Pathname %q", raw, p.Pathname)
	}
	for _, v := range []string{p.UTM.Source, p.UTM.Medium, p.UTM.Campaign, p.UTM.Term, p.UTM.Content} {
		if len(v) > MaxUTMLen || !clean(v) || v != strings.TrimSpace(v) {
			t.Errorf("Parse(%q): bad UTM value %q", raw, v)
		}
	}
}

// clean is true for valid UTF-8 without control or format characters.
func clean(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return false
		}
	}
	return true
}
