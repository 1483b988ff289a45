package shares

import (
	"errors"
	"testing"
	"time"
)

func TestParseOrigin(t *testing.T) {
	for raw, want := range map[string]string{
		"https://Intranet.Example.com/": "https://intranet.example.com",
		" http://localhost:8081 ":       "http://localhost:8081",
		"https://[2001:db8::1]:8443":    "https://[2001:db8::1]:8443",
		"https://notion.so":             "https://notion.so",
	} {
		if got, err := ParseOrigin(raw); err != nil || got != want {
			t.Errorf("ParseOrigin(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
	// Anything that is not exactly an origin could widen or break the policy it is
	// written into.
	for _, raw := range []string{"", "*", "https://*.example.com", "'self'", "https://a.example; script-src *",
		"https://a.example https://b.example", "https://a.example/path", "https://a.example?x", "ftp://a.example",
		"javascript:alert(1)", "data:", "https://user@a.example", "https://a.example:99999x", "https://-a.example",
		"https://a.example,https://b.example", "https://a.example\nx", "https://a_b.example", "//a.example"} {
		if got, err := ParseOrigin(raw); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseOrigin(%q) = %q, %v; want ErrInvalid", raw, got, err)
		}
	}
	if _, err := ParseOrigins(make([]string, 0, MaxOrigins+1)); err != nil {
		t.Errorf("no origins: %v", err)
	}
	many := []string{}
	for i := range MaxOrigins + 1 {
		many = append(many, "https://a"+string(rune('a'+i))+".example")
	}
	if _, err := ParseOrigins(many); !errors.Is(err, ErrInvalid) {
		t.Errorf("%d origins accepted", len(many))
	}
	if got, _ := ParseOrigins([]string{"https://a.example", "https://A.example/", " "}); len(got) != 1 {
		t.Errorf("repeats and blanks kept: %v", got)
	}
}

func TestParseExpiry(t *testing.T) {
	got, err := ParseExpiry("2027-01-31")
	if want := time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC); err != nil || !got.Equal(want) {
		t.Errorf("ParseExpiry = %v, %v; want the midnight after the day, %v", got, err, want)
	}
	if got, err := ParseExpiry(" "); err != nil || !got.IsZero() {
		t.Errorf("no expiry: %v %v", got, err)
	}
	for _, raw := range []string{"31.01.2027", "2027-02-30", "tomorrow", "2027-01-31T10:00"} {
		if _, err := ParseExpiry(raw); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseExpiry(%q): %v", raw, err)
		}
	}
}

func TestActive(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	never := time.Unix(0, 0).UTC()
	for _, c := range []struct {
		l    Link
		want bool
	}{
		{Link{Expires: never}, true},
		{Link{Expires: now.Add(time.Second)}, true},
		{Link{Expires: now}, false},
		{Link{Expires: never, Revoked: 1}, false},
	} {
		if got := c.l.Active(now); got != c.want {
			t.Errorf("%+v Active = %v", c.l, got)
		}
	}
	if wellFormed("short") || wellFormed(newToken()+"x") || !wellFormed(newToken()) {
		t.Error("wellFormed")
	}
}
