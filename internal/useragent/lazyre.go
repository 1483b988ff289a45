package useragent

import (
	"regexp"
	"sync"
)

// lazyRegexp is a regular expression compiled on its first use. The crawler lists hold
// some two thousand of them, and a rule is tried only when its required literals are in
// the user agent, so most are never run for real browsers' user agents; compiled up
// front they held about 10 MB of the collector's heap for good (BENCHMARKS.md, issue 18).
type lazyRegexp struct {
	expr string
	once sync.Once
	re   *regexp.Regexp
}

// newLazyRegexp checks expr by compiling it, so that a bad list fails at start as
// before, and keeps only the expression.
func newLazyRegexp(expr string) (*lazyRegexp, error) {
	if _, err := regexp.Compile(expr); err != nil {
		return nil, err
	}
	return &lazyRegexp{expr: expr}, nil
}

// MatchString compiles the expression the first time and matches s.
func (l *lazyRegexp) MatchString(s string) bool {
	l.once.Do(func() { l.re = regexp.MustCompile(l.expr) }) // compiled once already in newLazyRegexp
	return l.re.MatchString(s)
}

// String is the expression, as regexp.Regexp's String.
func (l *lazyRegexp) String() string { return l.expr }
