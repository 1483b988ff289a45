package useragent

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// Helpers for the factor sets of literals.go: a set means "one of these
// strings occurs", a list of sets means "a string of each set occurs".
// Strings are compared in folded form.

// need returns the most selective single set of which one string must occur
// in every match, or nil when none can be stated (e.g. the node can match "").
func need(l lits) []string {
	if l.exact != nil {
		return nonEmpty(l.exact)
	}
	var best []string
	for _, set := range l.all {
		best = better(best, set)
	}
	return best
}

// nonEmpty returns an exact set as a factor set: nil if it holds "", which
// every string contains.
func nonEmpty(exact []string) []string {
	if slices.Contains(exact, "") {
		return nil
	}
	return exact
}

// withSet adds a factor set to a conjunction, ignoring "no constraint".
func withSet(all [][]string, set []string) [][]string {
	if set == nil {
		return all
	}
	return append(all, set)
}

// cross returns every a+b, or nil when that would exceed maxExact.
func cross(a, b []string) []string {
	if len(a)*len(b) > maxExact {
		return nil
	}
	out := make([]string, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			out = union(out, []string{x + y})
		}
	}
	return out
}

// better returns the more selective of two factor sets: the one whose
// shortest string is longer, then the smaller one. nil means "no constraint".
func better(a, b []string) []string {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	ma, mb := minLen(a), minLen(b)
	if mb > ma || (mb == ma && len(b) < len(a)) {
		return b
	}
	return a
}

func minLen(set []string) int {
	m := -1
	for _, s := range set {
		if m < 0 || len(s) < m {
			m = len(s)
		}
	}
	return m
}

func union(a, b []string) []string {
	for _, s := range b {
		if !slices.Contains(a, s) {
			a = append(a, s)
		}
	}
	return a
}

// containsAny reports whether s contains one of the factors.
func containsAny(s string, factors []string) bool {
	for _, f := range factors {
		if strings.Contains(s, f) {
			return true
		}
	}
	return false
}

// containsAll reports whether s contains a string of every set.
func containsAll(s string, sets [][]string) bool {
	for _, set := range sets {
		if !containsAny(s, set) {
			return false
		}
	}
	return true
}

// fold maps a string to the form both user agents and factors are compared
// in: ASCII lower case, plus the Kelvin sign and long s, the only non-ASCII
// runes that Go's (?i) folds to ASCII letters.
func fold(s string) string {
	if isASCII(s) {
		return strings.ToLower(s)
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		case r == '\u212A':
			return 'k'
		case r == '\u017F':
			return 's'
		}
		return r
	}, s)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
