package useragent

import (
	"reflect"
	"regexp"
	"testing"
)

func TestRequiredFactors(t *testing.T) {
	tests := []struct {
		expr string
		want [][]string
	}{
		{`Googlebot`, [][]string{{"googlebot"}}},
		{`(?i)GoogleBot`, [][]string{{"googlebot"}}},
		{`[Bb]ai[Dd]u[Ss]pider`, [][]string{{"baiduspider"}}},
		{`(bot|crawler)`, [][]string{{"bot", "crawler"}}},
		{`^.{0,100}(bot|spider)`, [][]string{{"bot", "spider"}}},
		{`iPhone.{0,300}(Bot|Yeti)-Mobile`, [][]string{{"iphone"}, {"bot-mobile", "yeti-mobile"}}},
		{`(a.*b|c)`, [][]string{{"a", "c"}, {"b", "c"}}},
		{`Version/(\d+)`, [][]string{{"version/"}, {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}}},
		{`X(?:-\w+|)`, [][]string{{"x"}}},
		{`(?:bot|)`, nil},
		{`.*`, nil},
		{`[^;]+`, nil},
		{`(?i)é`, nil}, // non-ASCII case folding is not modelled
		{`é`, [][]string{{"é"}}},
	}
	for _, tt := range tests {
		got, err := requiredFactors(tt.expr)
		if err != nil {
			t.Fatalf("requiredFactors(%q): %v", tt.expr, err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("requiredFactors(%q) = %q, want %q", tt.expr, got, tt.want)
		}
	}
}

// TestFactorsAreNecessary checks the one property that matters on every
// crawler rule: when the regexp matches, the factors are present.
func TestFactorsAreNecessary(t *testing.T) {
	c, err := defaultCrawlerRules()
	if err != nil {
		t.Fatal(err)
	}
	inputs := append(append(append([]string{}, botUAs...), humanUAs...), referenceOnlyUAs...)
	for _, ua := range inputs {
		checkFactors(t, c, ua)
	}
}

func checkFactors(t *testing.T, c *crawlerRules, ua string) {
	t.Helper()
	folded := fold(ua)
	for i, r := range c.rules {
		if r.re.MatchString(ua) && !containsAll(folded, r.factors) {
			t.Errorf("rule %d %q matches %q but its factors %q are missing", i, r.re, ua, r.factors)
		}
	}
}

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"GoogleBot/2.1":     "googlebot/2.1",
		"\u212Aelvin":       "kelvin",
		"\u017Fpider É\xff": "spider É\uFFFD",
	} {
		if got := fold(in); got != want {
			t.Errorf("fold(%q) = %q, want %q", in, got, want)
		}
		if re := regexp.MustCompile(`(?i)kelvin|spider`); re.MatchString(in) != re.MatchString(fold(in)) {
			t.Errorf("fold(%q) changes what (?i) matches", in)
		}
	}
}
