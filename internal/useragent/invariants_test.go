package useragent

import (
	"strings"
	"testing"
	"unicode/utf8"
	"unsafe"
)

// checkInvariants asserts what must hold for any input.
func checkInvariants(t *testing.T, ua string, info Info) {
	t.Helper()
	switch info.Device {
	case Desktop, Mobile, Tablet:
	default:
		t.Errorf("Parse(%q).Device = %q", ua, info.Device)
	}
	for _, f := range []string{info.Browser, info.BrowserVersion, info.OS, info.OSVersion} {
		if !utf8.ValidString(f) || len(f) > 32 {
			t.Errorf("Parse(%q): bad field %q", ua, f)
		}
	}
	if strings.Trim(info.BrowserVersion, "0123456789") != "" {
		t.Errorf("Parse(%q).BrowserVersion = %q, want digits", ua, info.BrowserVersion)
	}
	if strings.TrimSpace(ua) == "" && !info.Bot {
		t.Errorf("Parse(%q).Bot = false for an empty user agent", ua)
	}
}

func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
