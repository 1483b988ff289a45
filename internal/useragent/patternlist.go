package useragent

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
)

// The second crawler list: the patterns of monperrus/crawler-user-agents, a list kept
// by its community with example user agents for every pattern, fetched from npm at
// build time (`make assets`: internal/useragent/lists, exact version in its
// package-lock.json) and embedded. uap-core knows crawlers by their device rules; this
// list adds synthetic monitors, uptime and link checkers, scanners, SEO tools, feed
// readers and AI agents that uap-core has no rule for, many of which run a real browser.
//
// ~1500 regular expressions cannot be run one after the other on every user agent. Each
// pattern gets the set of literals one of which every match must contain (the analysis
// of literals.go), all of those go into one Aho-Corasick index, and a user agent runs
// only the patterns whose literals the index finds in it: one pass over the user agent,
// then a handful of regexps at most.

//go:embed all:lists/dist
var listFiles embed.FS

// patternListFile is what internal/useragent/lists/build.mjs writes.
const patternListFile = "lists/dist/crawler-patterns.json"

// ErrPatternListMissing means the binary was built without the second crawler list:
// `make assets` did not run before `go build`.
var ErrPatternListMissing = errors.New("useragent: the crawler-user-agents list is not embedded (run `make assets` before building)")

// patternList is the second crawler list, compiled.
type patternList struct {
	source, version string
	res             []*lazyRegexp
	index           *literalIndex // literal -> pattern; nil when every pattern is in always
	always          []int32       // patterns with no required literal: run on every user agent
}

var defaultPatternList = sync.OnceValues(func() (*patternList, error) {
	doc, err := listFiles.ReadFile(patternListFile)
	if err != nil {
		return nil, ErrPatternListMissing
	}
	return loadPatternList(doc)
})

// PatternListVersion says which second crawler list the binary carries ("crawler-user-agents
// 1.60.0"), or why it has none; serve logs it at start.
func PatternListVersion() (string, error) {
	l, err := defaultPatternList()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s %s (%d patterns)", l.source, l.version, len(l.res)), nil
}

// loadPatternList compiles the JSON that build.mjs writes:
// {"source": …, "version": …, "patterns": ["Googlebot\\/", …]}.
func loadPatternList(doc []byte) (*patternList, error) {
	var def struct {
		Source   string   `json:"source"`
		Version  string   `json:"version"`
		Patterns []string `json:"patterns"`
	}
	if err := json.Unmarshal(doc, &def); err != nil {
		return nil, fmt.Errorf("useragent: crawler pattern list: %w", err)
	}
	if len(def.Patterns) == 0 {
		return nil, errors.New("useragent: crawler pattern list is empty")
	}
	l := &patternList{source: def.Source, version: def.Version, res: make([]*lazyRegexp, 0, len(def.Patterns))}
	var literals []string
	var ids []int32
	for i, p := range def.Patterns {
		re, err := newLazyRegexp(p)
		if err != nil {
			return nil, fmt.Errorf("useragent: crawler pattern %d: %w", i, err)
		}
		factors, err := requiredFactors(p)
		if err != nil {
			return nil, fmt.Errorf("useragent: crawler pattern %d: %w", i, err)
		}
		id := int32(len(l.res))
		l.res = append(l.res, re)
		set := need(lits{all: factors})
		if set == nil {
			l.always = append(l.always, id)
			continue
		}
		for _, s := range set {
			literals = append(literals, s)
			ids = append(ids, id)
		}
	}
	if len(literals) > 0 {
		index, err := newLiteralIndex(literals, ids)
		if err != nil {
			return nil, err
		}
		l.index = index
	}
	return l, nil
}

// matches reports whether a pattern of the list matches ua, whose folded form is folded.
func (l *patternList) matches(ua, folded string) bool {
	for _, id := range l.always {
		if l.res[id].MatchString(ua) {
			return true
		}
	}
	if l.index == nil {
		return false
	}
	var small [32]uint64 // patterns already run, for lists up to 2048 patterns
	tried := small[:]
	if n := (len(l.res) + 63) / 64; n > len(small) {
		tried = make([]uint64, n)
	}
	return l.index.scan(folded, func(id int32) bool {
		if tried[id/64]&(1<<(id%64)) != 0 {
			return false
		}
		tried[id/64] |= 1 << (id % 64)
		return l.res[id].MatchString(ua)
	})
}
