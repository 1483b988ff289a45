package notice

import (
	"fmt"
	"strings"
)

var english = writer{
	title: "Visitor statistics",
	intro: func(f Facts) string {
		s := f.Site + " counts its visitors with loendur, a statistics tool that uses no cookies"
		if by := enAgency(f); by != "" {
			s += ", run for us by " + by
		}
		s += ". It shows us which pages are read and where visitors come from; it does not tell us who you are and does not follow you to other websites. "
		if f.Settings.ConsentRequired {
			return s + "We count your visit only after you agree with the box below; until then your browser sends nothing."
		}
		return s + "We count visits without asking first; you can opt out at any time with the box below."
	},
	items: func(f Facts) []string {
		return []string{enCollected(f), enNotCollected(f), enAddress(f), enRetention(f), enReaders(f), enSignals(f), enChoice(f), enErase(f)}
	},
	controls: controlsText{
		consent: "Count my visits (anonymous statistics, no cookie)",
		forget:  "Erase my visits",
		blocked: "The statistics script is blocked in this browser: it sent nothing.",
		failed:  "That did not work; please try again in a minute.",
		done:    "Done. Events erased: ",
	},
}

// enAgency is "our web agency, Name (domains)", or "" when nothing is configured.
func enAgency(f Facts) string {
	a := "our web agency"
	if f.Agency.Name != "" {
		a += ", " + f.Agency.Name
	}
	if len(f.Agency.Domains) > 0 {
		a += " (" + strings.Join(f.Agency.Domains, ", ") + ")"
	}
	if f.Agency.Name == "" && len(f.Agency.Domains) == 0 {
		return ""
	}
	return a
}

func enCollected(f Facts) string {
	s := "What is recorded: the page you open (its address without the query string), the site you came from, campaign tags in the link (utm_…), your browser, operating system, device type and screen width"
	if f.Stored.WithLocation > 0 {
		s += ", the country, region and city your IP address points to"
	}
	s += ", how long the page was visible and how far you scrolled"
	if len(f.Properties) > 0 {
		s += ", and for some actions these details: " + propertyKeys(f)
	}
	return s + "."
}

func enNotCollected(f Facts) string {
	return fmt.Sprintf("What is not recorded: no cookies, nothing in your browser except the choice you make below, no name or contact details, no query strings, and no identifier that follows you: a visit is recognised for one day and on this site only, by a code computed from your address and browser with a random key that is deleted after %d hours.", SaltHours)
}

func enAddress(f Facts) string {
	use := "for the daily code"
	if f.Stored.WithLocation > 0 {
		use = "for the location and the daily code"
	}
	switch {
	case f.IPv4Prefix == 0 && f.IPv6Prefix == 0:
		return "No part of your IP address is stored: it is used only in memory, " + use + ", and then forgotten."
	case f.IPv4Prefix == 0:
		return fmt.Sprintf("Your IP address is cut before anything is stored: nothing of an IPv4 address is kept, and only the first %d of the 128 bits of an IPv6 address (its network).", f.IPv6Prefix)
	case f.IPv6Prefix == 0:
		return fmt.Sprintf("Your IP address is cut to its network before anything is stored: only the first %d of the 32 bits of an IPv4 address are kept (203.0.113.7 becomes %s), and nothing of an IPv6 address.", f.IPv4Prefix, truncationExample(f))
	}
	return fmt.Sprintf("Your IP address is cut to its network before anything is stored: only the first %d of the 32 bits of an IPv4 address are kept (203.0.113.7 becomes %s), and the first %d of the 128 bits of an IPv6 address.",
		f.IPv4Prefix, truncationExample(f), f.IPv6Prefix)
}

func enRetention(f Facts) string {
	unit := "months"
	if f.RetentionMonths == 1 {
		unit = "month"
	}
	return fmt.Sprintf("The records are kept for %d %s and then deleted automatically.", f.RetentionMonths, unit)
}

func enReaders(f Facts) string {
	s := "Who sees them: the staff of our web agency"
	if f.Agency.Name != "" {
		s += ", " + f.Agency.Name + ","
	}
	s += " who run the statistics"
	switch n := len(f.Managers()); n {
	case 0:
	case 1:
		s += ", and one person of ours who manages this site"
	default:
		s += fmt.Sprintf(", and %d people of ours who manage this site", n)
	}
	if shared := sharedWith(f, "e-mail reports", "anyone holding the link “%s”"); len(shared) > 0 {
		return s + ". Reports are also shared with: " + strings.Join(shared, "; ") + "."
	}
	return s + ". They are not sold or given to anyone else."
}

func enSignals(f Facts) string {
	if f.HonourDNT {
		return "If your browser sends Global Privacy Control or Do Not Track, nothing is counted."
	}
	return "If your browser sends Global Privacy Control, nothing is counted. Do Not Track is not acted on: use the box below instead."
}

func enChoice(f Facts) string {
	kept := " Your choice is kept in your browser (localStorage, loendur_optout), the only thing this tool stores there."
	if f.Settings.ConsentRequired {
		return "To allow counting, tick the box below; untick it to withdraw your consent on every page of this site." + kept
	}
	return "To stop being counted, untick the box below; tick it again to allow counting." + kept
}

func enErase(f Facts) string {
	s := "To erase your visits, press “Erase my visits” below: it erases what can still be linked to your browser and address (today’s and yesterday’s visits, UTC); older records can no longer be linked to anyone, you included."
	if f.BaseURL != "" {
		s += fmt.Sprintf(" To see the code your browser has today and how many records are stored under it, open %s/api/me?site=%s.", f.BaseURL, f.Site)
	}
	return s
}
