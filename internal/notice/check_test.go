package notice

import (
	"strings"
	"testing"
)

// exemptFacts are the facts of a site that meets every condition: the defaults of a
// new site, its notice published.
func exemptFacts() Facts {
	return Facts{
		Site: "shop.example", RetentionMonths: 25, HonourDNT: true, IPv4Prefix: 16, IPv6Prefix: 48,
		VisitorIDPerSite: true, Settings: Settings{PrivacyPage: "https://shop.example/privacy"},
		Stored:      Stored{Events: 120},
		Agency:      Agency{Name: "Veebitöö OÜ", Domains: []string{"agency.example"}},
		Properties:  []Property{{Key: "plan", Events: 10, Values: 2}},
		Readers:     []Reader{{Email: "ana@agency.example", Admin: true}, {Email: "mari@shop.example"}},
		Recipients:  []string{"mari@shop.example", "boss@agency.example"},
		SharedLinks: []SharedLink{{Label: "for the owner", Audience: "owner@shop.example"}},
		Imports:     []RawImport{{Source: "plausible.csv", Events: 10}},
	}
}

func condition(t *testing.T, c Check, id string) Condition {
	t.Helper()
	for _, cond := range c.Conditions {
		if cond.ID == id {
			return cond
		}
	}
	t.Fatalf("no condition %s in %+v", id, c)
	return Condition{}
}

// Each condition is met for exemptFacts and flips, alone, with the fact that drives
// it; its reason quotes the value.
func TestEachConditionFlipsWithItsFact(t *testing.T) {
	base := Evaluate(exemptFacts())
	if !base.Exempt || !strings.HasPrefix(base.Verdict, "Every condition is met") {
		t.Fatalf("the default site is not exempt: %+v", base)
	}
	for _, c := range []struct {
		id, reason string
		change     func(*Facts)
	}{
		{CondRetention, "Retention is 36 months; the exemption allows at most 25", func(f *Facts) { f.RetentionMonths = 36 }},
		{CondRetention, "Retention is 26 months", func(f *Facts) { f.RetentionMonths = 26 }},
		{CondIPTruncated, "IPv4 keeps 24 bits; the exemption allows at most 16", func(f *Facts) { f.IPv4Prefix = 24 }},
		{CondIPTruncated, "IPv6 keeps 64 bits; at most 48", func(f *Facts) { f.IPv6Prefix = 64 }},
		{CondIPTruncated, "3 events of the last 7 days hold an address finer than /16", func(f *Facts) { f.Stored.FinerIPv4 = 3 }},
		{CondOptOut, "No privacy page is recorded", func(f *Facts) { f.Settings.PrivacyPage = "" }},
		{CondOwnUse, "e-mail reports go to cfo@partner.example", func(f *Facts) { f.Recipients = append(f.Recipients, "cfo@partner.example") }},
		{CondOwnUse, `the shared link "board" is open to anyone who holds it`, func(f *Facts) { f.SharedLinks = []SharedLink{{Label: "board"}} }},
		{CondOwnUse, `the shared link "x" is open to partner.example`, func(f *Facts) { f.SharedLinks = []SharedLink{{Label: "x", Audience: "partner.example"}} }},
		{CondIdentifier, "the same on every site", func(f *Facts) { f.VisitorIDPerSite = false }},
		{CondProperties, `"email" (its name contains "email")`, func(f *Facts) {
			f.Properties = append(f.Properties, Property{Key: "email", Risk: `its name contains "email"`})
		}},
		{CondImports, "ga4 (500 events) kept user_pseudo_id", func(f *Facts) {
			f.Imports = []RawImport{{Source: "ga4", Events: 500, Identifiers: []string{"user_pseudo_id"}}}
		}},
	} {
		f := exemptFacts()
		c.change(&f)
		got := Evaluate(f)
		for _, cond := range got.Conditions {
			if want := cond.ID != c.id; cond.Met != want {
				t.Errorf("%s changed: %s met=%v (%s)", c.id, cond.ID, cond.Met, cond.Reason)
			}
		}
		if r := condition(t, got, c.id).Reason; !strings.Contains(r, c.reason) {
			t.Errorf("%s: reason %q, want …%s…", c.id, r, c.reason)
		}
		if got.Exempt || !strings.HasPrefix(got.Verdict, "The site needs consent before counting (1 of 7 conditions not met") {
			t.Errorf("%s not met, verdict %q", c.id, got.Verdict)
		}
		// Consent mode: the site asks first, so it does not rely on the exemption.
		f.Settings.ConsentRequired = true
		if v := Evaluate(f).Verdict; !strings.HasPrefix(v, "The site asks consent before counting") || !strings.Contains(v, "1 of 7 conditions are not met") {
			t.Errorf("%s in consent mode: %q", c.id, v)
		}
	}
	if r := condition(t, base, CondRetention).Reason; r != "Retention is 25 months; the exemption allows at most 25." {
		t.Errorf("retention reason: %q", r)
	}
}

// The agency is its domains and the site's own domain, subdomains included, and
// nothing that merely ends in the same letters.
func TestInside(t *testing.T) {
	f := exemptFacts()
	for addr, want := range map[string]bool{
		"ana@agency.example": true, "x@mail.agency.example": true, "MARI@Shop.Example": true, "shop.example": true,
		"eve@badagency.example": false, "eve@shop.example.evil": false, "": false, "partner.example": false,
	} {
		if got := f.Inside(addr); got != want {
			t.Errorf("Inside(%q) = %v", addr, got)
		}
	}
}

func TestPersonalWord(t *testing.T) {
	for key, want := range map[string]string{
		"email": "email", "userEmail": "user", "customer_id": "customer", "E-Mail": "mail", "plan": "", "format": "",
		"Kliendi nimi": "nimi", "phoneNumber": "phone", "zipcode": "", "url": "",
	} {
		if got := personalWord(key); got != want {
			t.Errorf("personalWord(%q) = %q, want %q", key, got, want)
		}
	}
}
