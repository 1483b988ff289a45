package mailer

import (
	"strings"
	"testing"
)

func TestParseHidesPassword(t *testing.T) {
	c, err := Parse("smtp://robot:s3cret@mail.example.com:2525", "loendur@agency.example")
	if err != nil {
		t.Fatal(err)
	}
	if c.Host != "mail.example.com" || c.Port != 2525 || c.User != "robot" || c.TLS {
		t.Errorf("parsed %+v", c)
	}
	if s := c.String(); strings.Contains(s, "s3cret") || s != "smtp://robot:***@mail.example.com:2525" {
		t.Errorf("String() = %q", s)
	}
	for _, bad := range []string{"http://robot:s3cret@mail.example.com", "smtp://robot:s3cret@mail.example.com:99999", "smtp://robot:s3cret@:25"} {
		_, err := Parse(bad, "loendur@agency.example")
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Parse(%q): %v; want an error without the password", bad, err)
		}
	}
	if c, _ := Parse("smtps://mail.example.com", "a@b.example"); c.Port != 465 || !c.TLS {
		t.Errorf("smtps default: %+v", c)
	}
	if _, err := Parse("smtp://mail.example.com", "not an address"); err == nil || !strings.Contains(err.Error(), "--mail-from") {
		t.Errorf("bad sender: %v", err)
	}
}

func TestParseAddress(t *testing.T) {
	for in, want := range map[string]string{"ana@agency.example": "ana@agency.example", " Ana@Agency.EXAMPLE ": "Ana@agency.example"} {
		if got, err := ParseAddress(in); err != nil || got != want {
			t.Errorf("ParseAddress(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "ana", "ana@", "@agency.example", "ana@localhost", "Ana <ana@agency.example>", "a@b.example, c@d.example", "ana@agency.example\r\nBcc: x@y.example"} {
		if _, err := ParseAddress(bad); err == nil {
			t.Errorf("ParseAddress(%q) accepted", bad)
		}
	}
}
