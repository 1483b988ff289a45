package notice

import (
	"strings"
	"testing"
)

func write(t *testing.T, f Facts, lang string) Notice {
	t.Helper()
	n, err := Write(f, lang)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Every sentence that depends on a setting changes with it, in both languages, in the
// HTML and the plain text alike.
func TestNoticeFollowsTheSettings(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(*Facts)
		want   map[string][]string // by language: text that must appear
		gone   map[string][]string // text of the default that must be gone
	}{
		{"defaults", func(*Facts) {}, map[string][]string{
			"en": {"kept for 25 months", "only the first 16 of the 32 bits", "203.0.113.7 becomes 203.0.0.0", "first 48 of the 128 bits",
				"Global Privacy Control or Do Not Track, nothing is counted", "We count visits without asking first", "To stop being counted, untick",
				"run for us by our web agency, Veebitöö OÜ (agency.example)", "one person of ours who manages this site", "not sold or given to anyone else",
				"these details: plan"},
			"et": {"Andmeid hoitakse 25 kuud", "ainult esimesed 16 bitti 32-st", "203.0.113.7 muutub kujule 203.0.0.0", "esimesed 48 bitti 128-st",
				"Global Privacy Controli või Do Not Tracki signaali, ei loendata midagi", "Külastusi loendame ilma eelnevalt nõusolekut küsimata",
				"mida haldab meie jaoks meie veebiagentuur Veebitöö OÜ (agency.example)", "ja üks meie inimene, kes seda saiti haldab",
				"Andmeid ei müüda ega anta kellelegi teisele", "järgmised andmed: plan"},
		}, nil},
		{"retention", func(f *Facts) { f.RetentionMonths = 13 },
			map[string][]string{"en": {"kept for 13 months"}, "et": {"Andmeid hoitakse 13 kuud"}},
			map[string][]string{"en": {"25 months"}, "et": {"25 kuud"}}},
		{"one month", func(f *Facts) { f.RetentionMonths = 1 },
			map[string][]string{"en": {"kept for 1 month and"}, "et": {"Andmeid hoitakse 1 kuu,"}}, nil},
		{"ipv4 prefix", func(f *Facts) { f.IPv4Prefix = 8 },
			map[string][]string{"en": {"only the first 8 of the 32 bits", "203.0.113.7 becomes 203.0.0.0"}, "et": {"ainult esimesed 8 bitti 32-st"}},
			map[string][]string{"en": {"first 16 of"}, "et": {"esimesed 16 bitti"}}},
		{"ipv4 prefix 12", func(f *Facts) { f.IPv4Prefix = 12 },
			map[string][]string{"en": {"203.0.113.7 becomes 203.0.0.0"}, "et": {"muutub kujule 203.0.0.0"}}, nil},
		{"ipv6 prefix", func(f *Facts) { f.IPv6Prefix = 32 },
			map[string][]string{"en": {"the first 32 of the 128 bits"}, "et": {"esimesed 32 bitti 128-st"}},
			map[string][]string{"en": {"first 48 of"}, "et": {"esimesed 48 bitti"}}},
		{"no address", func(f *Facts) { f.IPv4Prefix, f.IPv6Prefix = 0, 0 },
			map[string][]string{"en": {"No part of your IP address is stored"}, "et": {"Teie IP-aadressist ei salvestata midagi"}},
			map[string][]string{"en": {"cut to its network"}, "et": {"kärbitakse"}}},
		{"dnt ignored", func(f *Facts) { f.HonourDNT = false },
			map[string][]string{"en": {"Do Not Track is not acted on"}, "et": {"Do Not Tracki signaali me ei arvesta"}},
			map[string][]string{"en": {"Global Privacy Control or Do Not Track"}, "et": {"Controli või Do Not Tracki"}}},
		{"consent mode", func(f *Facts) { f.Settings.ConsentRequired = true },
			map[string][]string{"en": {"We count your visit only after you agree", "To allow counting, tick the box"},
				"et": {"Teie külastust loendame alles siis, kui olete", "Loendamist lubate, kui märgite"}},
			map[string][]string{"en": {"without asking first"}, "et": {"ilma eelnevalt nõusolekut küsimata"}}},
		{"location", func(f *Facts) { f.Stored.WithLocation = 5 },
			map[string][]string{"en": {"the country, region and city your IP address points to"}, "et": {"riik, piirkond ja linn, millele teie IP-aadress osutab"}}, nil},
		{"shared outside", func(f *Facts) {
			f.Recipients = append(f.Recipients, "cfo@partner.example")
			f.SharedLinks = append(f.SharedLinks, SharedLink{Label: "board"})
		}, map[string][]string{"en": {"Reports are also shared with: partner.example (e-mail reports); anyone holding the link “board”."},
			"et": {"Aruandeid jagatakse ka: partner.example (e-postiga saadetavad aruanded); kõik, kellel on link „board”."}},
			map[string][]string{"en": {"not sold", "cfo@"}, "et": {"ei müüda", "cfo@"}}},
		{"two managers", func(f *Facts) { f.Readers = append(f.Readers, Reader{Email: "jaan@shop.example"}) },
			map[string][]string{"en": {"and 2 people of ours who manage this site"}, "et": {"ja 2 meie inimest, kes seda saiti haldavad"}}, nil},
		{"no agency configured", func(f *Facts) { f.Agency = Agency{} },
			nil, map[string][]string{"en": {"run for us by"}, "et": {"mida haldab meie jaoks"}}},
		{"base url", func(f *Facts) { f.BaseURL = "https://stats.agency.example" },
			map[string][]string{"en": {"open https://stats.agency.example/api/me?site=shop.example"}, "et": {"avage https://stats.agency.example/api/me?site=shop.example"}}, nil},
	} {
		f := exemptFacts()
		c.change(&f)
		for _, lang := range Languages {
			n := write(t, f, lang)
			for _, w := range c.want[lang] {
				if !strings.Contains(n.Text, w) {
					t.Errorf("%s, %s text lacks %q:\n%s", c.name, lang, w, n.Text)
				}
				if !strings.Contains(n.HTML, htmlEscape(w)) {
					t.Errorf("%s, %s HTML lacks %q:\n%s", c.name, lang, w, n.HTML)
				}
			}
			for _, g := range c.gone[lang] {
				if strings.Contains(n.Text, g) {
					t.Errorf("%s, %s text still says %q:\n%s", c.name, lang, g, n.Text)
				}
			}
		}
	}
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

// The snippets follow consent mode and Do Not Track: the tracker tag carries the
// attributes, and the box starts ticked as the mode requires.
func TestSnippetsFollowTheSettings(t *testing.T) {
	f := exemptFacts()
	f.BaseURL = "https://stats.agency.example"
	n := write(t, f, "en")
	if n.Tracker != `<script defer src="https://stats.agency.example/js/script.js" data-site="shop.example"></script>` {
		t.Errorf("default tracker: %s", n.Tracker)
	}
	if !strings.Contains(n.Controls, "box.checked = v !== '1'") || !strings.Contains(n.Controls, "Erase my visits") {
		t.Errorf("default controls:\n%s", n.Controls)
	}
	f.Settings.ConsentRequired, f.HonourDNT = true, false
	n = write(t, f, "et")
	if !strings.HasSuffix(n.Tracker, `data-site="shop.example" data-consent="required" data-dnt="false"></script>`) {
		t.Errorf("consent mode, DNT ignored: %s", n.Tracker)
	}
	if !strings.Contains(n.Controls, "box.checked = v === '0'") || !strings.Contains(n.Controls, "Kustuta minu külastused") {
		t.Errorf("consent mode controls:\n%s", n.Controls)
	}
	f.BaseURL = ""
	if n = write(t, f, "en"); !strings.Contains(n.Tracker, placeholderURL+"/js/script.js") {
		t.Errorf("unknown address: %s", n.Tracker)
	}
	if _, err := Write(f, "fi"); err == nil {
		t.Error("an unknown language was accepted")
	}
}

// Text that reaches the HTML is escaped: a property key or an agency name cannot add
// markup to the site's privacy page.
func TestNoticeHTMLIsEscaped(t *testing.T) {
	f := exemptFacts()
	f.Agency.Name = `<img src=x onerror=alert(1)>`
	f.Properties = []Property{{Key: `"><script>x()</script>`}}
	n := write(t, f, "en")
	if strings.Contains(n.HTML, "<img") || strings.Contains(n.HTML, "<script") {
		t.Errorf("markup in the notice:\n%s", n.HTML)
	}
	if !strings.Contains(n.Text, "<img src=x") {
		t.Errorf("plain text lost the name:\n%s", n.Text)
	}
}
