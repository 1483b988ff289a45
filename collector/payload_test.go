package collector

import (
	"slices"
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
		if p.Scroll.set && (p.Scroll.value < 0 || p.Scroll.value > 100) {
			t.Fatalf("accepted scroll %v", p.Scroll.value)
		}
	})
}

func TestParsePayloadValues(t *testing.T) {
	body := `{"site":"a.com","name":"x","url":"https://a.com/` + "\xff" + `","width":1280,` +
		`"props":{"b":"1","a":2.5e3,"c":false,"b":"last","d":"gone","d":null},"width":null,"scroll":50}`
	p, r := parsePayload([]byte(body))
	if r != nil {
		t.Fatalf("refused: %v", r)
	}
	if p.URL != "https://a.com/\uFFFD" {
		t.Errorf("url = %q, want invalid UTF-8 replaced by U+FFFD", p.URL)
	}
	if p.Width.set {
		t.Errorf("width = %v, want unset by the later null", p.Width.value)
	}
	if !p.Scroll.set || p.Scroll.value != 50 {
		t.Errorf("scroll = %+v, want 50", p.Scroll)
	}
	want := []prop{{"b", "last"}, {"a", "2.5e3"}, {"c", "false"}}
	if !slices.Equal(p.Props, want) {
		t.Errorf("props = %v, want %v (order sent, last value of a repeated key, null drops)", p.Props, want)
	}
	for _, bad := range []string{`NaN`, `-Infinity`, `1-2`, `[1]`, `{"x":1}`} {
		body := `{"site":"a.com","name":"x","url":"https://a.com/","props":{"n":` + bad + `}}`
		if _, r := parsePayload([]byte(body)); r == nil || r.Reason != reasonBadBody {
			t.Errorf("prop value %s: got %v, want %s", bad, r, reasonBadBody)
		}
	}
	for _, bad := range []string{`"1"`, `true`, `NaN`, `1e999`} {
		body := `{"site":"a.com","name":"pageview","url":"https://a.com/","width":` + bad + `}`
		if _, r := parsePayload([]byte(body)); r == nil {
			t.Errorf("width %s accepted", bad)
		}
	}
}

func TestParsePayloadNesting(t *testing.T) {
	const base = `{"site":"a.com","name":"x","url":"https://a.com/","extra":`
	for depth, wantRefused := range map[int]bool{1: false, 3: false, 4: true, 40: true, 299: true, 5000: true} {
		body := base + strings.Repeat("[", depth-1) + "{}" + strings.Repeat("]", depth-1) + "}"
		_, r := parsePayload([]byte(body))
		if refused := r != nil && r.Reason == reasonBadBody; refused != wantRefused {
			t.Errorf("%d levels inside the event object: refused %v (%v), want %v", depth, refused, r, wantRefused)
		}
	}
}
