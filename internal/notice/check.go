package notice

import (
	"fmt"
	"strings"
)

// Condition is one condition of the exemption, met or not, and why, in words that
// quote the site's real values.
type Condition struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Met    bool   `json:"met"`
	Reason string `json:"reason"`
}

// Check is the exemption check of one site.
type Check struct {
	Conditions []Condition `json:"conditions"`
	// Exempt: every condition is met, so the site may count without asking consent.
	Exempt bool `json:"exempt"`
	// ConsentRequired: the site asks consent first (its consent mode), so it does not
	// rely on the exemption.
	ConsentRequired bool   `json:"consent_required"`
	Verdict         string `json:"verdict"`
}

// Condition ids, stable for API clients.
const (
	CondOwnUse      = "own_use"
	CondIdentifier  = "no_cross_site_identifier"
	CondIPTruncated = "ip_truncated"
	CondRetention   = "retention"
	CondOptOut      = "opt_out"
	CondProperties  = "no_personal_properties"
	CondImports     = "no_identifying_imports"
)

// Evaluate runs every condition on f.
func Evaluate(f Facts) Check {
	c := Check{ConsentRequired: f.Settings.ConsentRequired, Conditions: []Condition{
		ownUse(f), identifier(f), ipTruncated(f), retention(f), optOut(f), properties(f), imports(f),
	}}
	c.Exempt = true
	var unmet []string
	for _, cond := range c.Conditions {
		if !cond.Met {
			c.Exempt = false
			unmet = append(unmet, cond.Title)
		}
	}
	switch {
	case c.ConsentRequired:
		c.Verdict = "The site asks consent before counting (consent mode), so it does not rely on the exemption."
		if !c.Exempt {
			c.Verdict += fmt.Sprintf(" Without consent mode it would need consent anyway: %d of %d conditions are not met.", len(unmet), len(c.Conditions))
		}
	case c.Exempt:
		c.Verdict = "Every condition is met: the site may count without a consent banner, provided its privacy page shows the notice below."
	default:
		c.Verdict = fmt.Sprintf("The site needs consent before counting (%d of %d conditions not met: %s). Fix them, or turn on consent mode.",
			len(unmet), len(c.Conditions), strings.Join(unmet, "; "))
	}
	return c
}

func ownUse(f Facts) Condition {
	c := Condition{ID: CondOwnUse, Title: "Statistics for the publisher only, not shared"}
	recipients, links := f.outside()
	inside := "the agency (" + orNone(f.Agency.Domains, "no agency domain configured") + ") and the site's own domain " + f.Site
	if len(recipients) == 0 && len(links) == 0 {
		c.Met = true
		c.Reason = fmt.Sprintf("Only %s receive its statistics: %d e-mail recipient(s) and %d shared link(s), none outside.",
			inside, len(f.Recipients), len(f.SharedLinks))
		return c
	}
	var parts []string
	if len(recipients) > 0 {
		parts = append(parts, fmt.Sprintf("e-mail reports go to %s", strings.Join(recipients, ", ")))
	}
	for _, l := range links {
		who := "anyone who holds it"
		if l.Audience != "" {
			who = l.Audience
		}
		parts = append(parts, fmt.Sprintf("the shared link %q is open to %s", l.Label, who))
	}
	c.Reason = "Statistics leave " + inside + ": " + strings.Join(parts, "; ") + ". The exemption allows no sharing with others."
	return c
}

func identifier(f Facts) Condition {
	c := Condition{ID: CondIdentifier, Title: "No identifier that follows visitors across sites or days"}
	if !f.VisitorIDPerSite {
		c.Reason = "The visitor id is the same on every site for one browser: it could link visits across sites."
		return c
	}
	c.Met = true
	c.Reason = fmt.Sprintf("No cookie and no identifier in the browser; the visitor id is a keyed hash of a daily random salt, the site, the address and the browser, so it differs between sites and days, and the salt is deleted after %d hours.", SaltHours)
	return c
}

func ipTruncated(f Facts) Condition {
	c := Condition{ID: CondIPTruncated, Title: "IP address truncated before storage"}
	var problems []string
	if f.IPv4Prefix > MaxIPv4Bits {
		problems = append(problems, fmt.Sprintf("IPv4 keeps %d bits; the exemption allows at most %d (two bytes removed)", f.IPv4Prefix, MaxIPv4Bits))
	}
	if f.IPv6Prefix > MaxIPv6Bits {
		problems = append(problems, fmt.Sprintf("IPv6 keeps %d bits; at most %d are allowed", f.IPv6Prefix, MaxIPv6Bits))
	}
	if n := f.Stored.FinerIPv4 + f.Stored.FinerIPv6; n > 0 {
		problems = append(problems, fmt.Sprintf("%d events of the last %d days hold an address finer than /%d (IPv4) or /%d (IPv6); erase or re-import them",
			n, StoredWindowDays, MaxIPv4Bits, MaxIPv6Bits))
	}
	if len(problems) > 0 {
		c.Reason = strings.Join(problems, "; ") + "."
		return c
	}
	c.Met = true
	c.Reason = fmt.Sprintf("IPv4 is cut to /%d and IPv6 to /%d before storage (limits /%d and /%d), and none of the %d events of the last %d days holds a finer address.",
		f.IPv4Prefix, f.IPv6Prefix, MaxIPv4Bits, MaxIPv6Bits, f.Stored.Events, StoredWindowDays)
	return c
}

func retention(f Facts) Condition {
	c := Condition{ID: CondRetention, Title: fmt.Sprintf("Data kept at most %d months", MaxRetentionMonths)}
	c.Met = f.RetentionMonths <= MaxRetentionMonths
	if c.Met {
		c.Reason = fmt.Sprintf("Retention is %d months; the exemption allows at most %d.", f.RetentionMonths, MaxRetentionMonths)
	} else {
		c.Reason = fmt.Sprintf("Retention is %d months; the exemption allows at most %d. Lower it to %d or less.", f.RetentionMonths, MaxRetentionMonths, MaxRetentionMonths)
	}
	return c
}

func optOut(f Facts) Condition {
	c := Condition{ID: CondOptOut, Title: "Visitors informed and offered an opt-out"}
	signals := "Global Privacy Control is always honoured; Do Not Track is not (the site's setting)"
	if f.HonourDNT {
		signals = "Global Privacy Control and Do Not Track are honoured"
	}
	if f.Settings.PrivacyPage == "" {
		c.Reason = "No privacy page is recorded for this site. Publish the notice below with its opt-out control on the site and record the page's address. (" + signals + ".)"
		return c
	}
	c.Met = true
	c.Reason = fmt.Sprintf("The notice and its opt-out control are published at %s (recorded by staff; loendur does not fetch the page). %s.", f.Settings.PrivacyPage, signals)
	return c
}

func properties(f Facts) Condition {
	c := Condition{ID: CondProperties, Title: "No custom property that could carry personal data"}
	risky := f.riskyProperties()
	if len(risky) > 0 {
		var parts []string
		for _, p := range risky {
			parts = append(parts, fmt.Sprintf("%q (%s)", p.Key, p.Risk))
		}
		c.Reason = "Custom properties that may carry personal data: " + strings.Join(parts, "; ") + ". Stop sending them and erase the events that carry them."
		return c
	}
	c.Met = true
	if len(f.Properties) == 0 {
		c.Reason = "The site's events carry no custom property."
		return c
	}
	keys := make([]string, len(f.Properties))
	for i, p := range f.Properties {
		keys[i] = p.Key
	}
	c.Reason = "Properties in use: " + strings.Join(keys, ", ") + "; none is named like personal data or holds values that look like e-mail addresses, phone numbers, IP addresses or per-person ids."
	return c
}

func imports(f Facts) Condition {
	c := Condition{ID: CondImports, Title: "No imported raw events that carry identifiers"}
	bad := f.identifyingImports()
	if len(bad) > 0 {
		var parts []string
		for _, im := range bad {
			parts = append(parts, fmt.Sprintf("%s (%d events) kept %s", im.Source, im.Events, strings.Join(im.Identifiers, ", ")))
		}
		c.Reason = "Imports kept per-person identifiers: " + strings.Join(parts, "; ") + ". Delete those imports or import them without the identifiers."
		return c
	}
	c.Met = true
	if len(f.Imports) == 0 {
		c.Reason = "No raw events were imported."
	} else {
		c.Reason = fmt.Sprintf("%d raw import(s), none with a per-person identifier.", len(f.Imports))
	}
	return c
}

func orNone(list []string, none string) string {
	if len(list) == 0 {
		return none
	}
	return strings.Join(list, ", ")
}
