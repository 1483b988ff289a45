package collector

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParsePayload(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"site":"a.com","name":"x","url":"https://a.com/","props":{`)
	for i := range 31 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"k` + string(rune('a'+i%26)) + string(rune('a'+i/26)) + `":"v"`)
	}
	b.WriteString(`}}`)
	props31 := b.String()

	for _, tc := range []struct {
		name, body, reason string
	}{
		{"pageview", `{"site":"a.com","name":"pageview","url":"https://a.com/"}`, ""},
		{"engagement", `{"site":"a.com","name":"engagement","url":"https://a.com/","engaged_ms":1200,"scroll":80}`, ""},
		{"custom with props", `{"site":"a.com","name":"Signup","url":"https://a.com/","props":{"plan":"pro"}}`, ""},
		{"unknown fields ignored", `{"site":"a.com","name":"pageview","url":"https://a.com/","extra":[1,2]}`, ""},
		{"empty", ``, reasonBadBody},
		{"not json", `site=a.com`, reasonBadBody},
		{"array", `[1,2,3]`, reasonBadBody},
		{"deep nesting", strings.Repeat("[", 10000) + strings.Repeat("]", 10000), reasonBadBody},
		{"missing site", `{"name":"pageview","url":"https://a.com/"}`, reasonBadField},
		{"missing name", `{"site":"a.com","url":"https://a.com/"}`, reasonBadField},
		{"missing url", `{"site":"a.com","name":"pageview"}`, reasonBadField},
		{"31 props", props31, reasonBadField},
		{"scalar props become text", `{"site":"a.com","name":"x","url":"https://a.com/","props":{"n":1.5,"b":true,"z":null}}`, ""},
		{"object prop", `{"site":"a.com","name":"x","url":"https://a.com/","props":{"n":{"a":1}}}`, reasonBadBody},
		{"props not an object", `{"site":"a.com","name":"x","url":"https://a.com/","props":[1]}`, reasonBadBody},
		{"scroll over 100", `{"site":"a.com","name":"engagement","url":"https://a.com/","engaged_ms":1,"scroll":101}`, reasonBadField},
		{"negative width", `{"site":"a.com","name":"pageview","url":"https://a.com/","width":-1}`, reasonBadField},
		{"engagement without time", `{"site":"a.com","name":"engagement","url":"https://a.com/"}`, reasonBadField},
		{"control char in name", "{\"site\":\"a.com\",\"name\":\"a\\u0001\",\"url\":\"https://a.com/\"}", reasonBadField},
		{"name too long", `{"site":"a.com","name":"` + strings.Repeat("n", 121) + `","url":"https://a.com/"}`, reasonBadField},
		{"wrong type", `{"site":"a.com","name":"pageview","url":"https://a.com/","width":"wide"}`, reasonBadBody},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, r := parsePayload([]byte(tc.body))
			got := ""
			if r != nil {
				got = r.Reason
				if r.Message == "" {
					t.Error("rejection without a message")
				}
			}
			if got != tc.reason {
				t.Fatalf("reason = %q (%v), want %q", got, r, tc.reason)
			}
		})
	}
}

// The error message names the problem, never the submitted value (it may be personal).
func TestParsePayloadDoesNotEchoInput(t *testing.T) {
	secret := "jane.doe@example.org"
	for _, body := range []string{
		`{"site":"a.com","name":"x","url":"https://a.com/","width":"` + secret + `"}`,
		`{"site":"a.com","name":"x","url":"https://a.com/","props":{"` + secret + `":{}}}`,
		`{"site":"` + secret + `",`,
	} {
		_, r := parsePayload([]byte(body))
		if r == nil {
			t.Fatalf("accepted %s", body)
		}
		if strings.Contains(r.Message, secret) {
			t.Fatalf("message %q echoes the input", r.Message)
		}
	}
}

func FuzzParsePayload(f *testing.F) {
	f.Add([]byte(`{"site":"a.com","name":"pageview","url":"https://a.com/x?utm_source=y","referrer":"https://google.com/","width":1280}`))
	f.Add([]byte(`{"site":"a.com","name":"engagement","url":"https://a.com/","engaged_ms":1e3,"scroll":100}`))
	f.Add([]byte(`{"props":{"a":"b"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, r := parsePayload(body)
		if r != nil {
			if statusOf(r.Reason) >= 500 {
				t.Fatalf("server error status for %q", r.Reason)
			}
			return
		}
		if p.Site == "" || p.Name == "" || p.URL == "" || len(p.Props) > MaxProps || !utf8.ValidString(p.Name) {
			t.Fatalf("accepted invalid payload %+v", p)
		}
		if p.Scroll != nil && (*p.Scroll < 0 || *p.Scroll > 100) {
			t.Fatalf("accepted scroll %v", *p.Scroll)
		}
	})
}
