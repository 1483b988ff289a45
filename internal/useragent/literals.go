package useragent

import (
	"regexp/syntax"
	"slices"
)

// The crawler list is ~630 regular expressions, and Go's regexp engine needs
// hundreds of microseconds to run them on one user agent. Almost every one of
// them can only match when the user agent contains one of a few literal
// strings ("bot", "spider", a brand name...), and strings.Contains is cheap.
// This file derives those necessary literals ("factors") from the parsed
// regexp, in the spirit of RE2's FilteredRE2: a rule whose factors are all
// absent is skipped without running its regexp. The analysis only ever
// weakens a constraint when unsure, so it never causes a missed match.

// maxExact bounds an exact-string set during the analysis. Beyond it the set
// is weakened to "one of these must occur", which stays correct.
const maxExact = 64

// lits is what the analysis knows about the strings a regexp node matches.
type lits struct {
	exact []string   // every match is one of these (folded); nil when unknown
	all   [][]string // every match contains a string of each of these sets (folded)
}

// requiredFactors returns sets of folded strings such that every match of
// expr contains a string of each set. It returns no set when nothing can be
// said (then the regexp must always be run).
func requiredFactors(expr string) ([][]string, error) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, err
	}
	l := analyze(re)
	if n := nonEmpty(l.exact); n != nil {
		return [][]string{n}, nil
	}
	return l.all, nil
}

// analyze works bottom-up over the parse tree. Anything it does not model
// (any-char, stars, large classes) yields "no constraint", which is safe.
func analyze(re *syntax.Regexp) lits {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine,
		syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return lits{exact: []string{""}}
	case syntax.OpLiteral:
		return literal(re)
	case syntax.OpCharClass:
		return lits{exact: classStrings(re.Rune)}
	case syntax.OpCapture:
		return analyze(re.Sub[0])
	case syntax.OpQuest:
		if sub := analyze(re.Sub[0]); sub.exact != nil {
			return lits{exact: union(sub.exact, []string{""})}
		}
	case syntax.OpPlus:
		return atLeastOnce(analyze(re.Sub[0]))
	case syntax.OpRepeat:
		if re.Min == 1 && re.Max == 1 {
			return analyze(re.Sub[0])
		}
		if re.Min >= 1 {
			return atLeastOnce(analyze(re.Sub[0]))
		}
	case syntax.OpConcat:
		return concat(re.Sub)
	case syntax.OpAlternate:
		return alternate(re.Sub)
	}
	return lits{} // any char, star, ...: no constraint
}

// atLeastOnce describes one or more repetitions of a node: what each
// repetition needs, but no longer an exact set.
func atLeastOnce(sub lits) lits {
	if sub.exact != nil {
		return lits{all: withSet(nil, nonEmpty(sub.exact))}
	}
	return lits{all: sub.all}
}

// literal handles a literal run. A case-folded literal with non-ASCII runes
// is given up on: fold only normalises ASCII (and the two non-ASCII runes
// that fold to ASCII), so it could not promise a necessary condition.
func literal(re *syntax.Regexp) lits {
	s := string(re.Rune)
	if re.Flags&syntax.FoldCase != 0 && !isASCII(s) {
		return lits{}
	}
	return lits{exact: []string{fold(s)}}
}

// classStrings lists a small character class's members as folded strings
// (so [Bb] becomes just "b"), or nil when the class is too large.
func classStrings(ranges []rune) []string {
	var out []string
	n := 0
	for i := 0; i+1 < len(ranges); i += 2 {
		n += int(ranges[i+1]-ranges[i]) + 1
		if n > maxExact {
			return nil
		}
		for r := ranges[i]; r <= ranges[i+1]; r++ {
			out = union(out, []string{fold(string(r))})
		}
	}
	return out
}

// concat joins runs of exact parts into longer strings; every part's
// constraint holds for the whole, so all of them are kept.
func concat(subs []*syntax.Regexp) lits {
	run := []string{""}
	allExact := true
	var all [][]string
	for _, sub := range subs {
		l := analyze(sub)
		if l.exact != nil {
			if next := cross(run, l.exact); next != nil {
				run = next
				continue
			}
			all = withSet(all, nonEmpty(run))
			run, allExact = l.exact, false
			continue
		}
		allExact = false
		all = append(withSet(all, nonEmpty(run)), l.all...)
		run = []string{""}
	}
	if allExact {
		return lits{exact: run}
	}
	return lits{all: withSet(all, nonEmpty(run))}
}

// alternate is exact when every branch is, and otherwise constrained only
// when every branch is constrained.
func alternate(subs []*syntax.Regexp) lits {
	var exact []string
	allExact := true
	branches := make([][][]string, 0, len(subs))
	for _, sub := range subs {
		l := analyze(sub)
		if allExact && l.exact != nil && len(exact)+len(l.exact) <= maxExact {
			exact = union(exact, l.exact)
		} else {
			allExact = false
		}
		c := conjunction(l)
		if c == nil {
			return lits{} // this branch needs nothing, so neither does the whole
		}
		branches = append(branches, c)
	}
	if allExact {
		return lits{exact: exact}
	}
	return lits{all: distribute(branches)}
}

// conjunction lists the sets a node needs, nil when none.
func conjunction(l lits) [][]string {
	if l.exact != nil {
		return withSet(nil, nonEmpty(l.exact))
	}
	return l.all
}

// maxSets bounds the conjunction built by distribute.
const maxSets = 16

// distribute turns "one of these conjunctions holds" into one conjunction:
// (A1 and A2) or (B1) becomes (A1 or B1) and (A2 or B1), each "or" being the
// union of two sets. When that would grow too large, each branch is reduced
// to its most selective set first.
func distribute(branches [][][]string) [][]string {
	n := 1
	for _, b := range branches {
		n *= len(b)
		if n > maxSets {
			break
		}
	}
	if n > maxSets {
		var set []string
		for _, b := range branches {
			set = union(set, need(lits{all: b}))
		}
		return [][]string{set}
	}
	all := [][]string{nil}
	for _, b := range branches {
		next := make([][]string, 0, len(all)*len(b))
		for _, acc := range all {
			for _, set := range b {
				next = append(next, union(slices.Clone(acc), set))
			}
		}
		all = next
	}
	return all
}
