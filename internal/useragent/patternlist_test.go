package useragent

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestPatternListLoads fails when the binary would be built without the second crawler
// list (`make assets` not run, or build.mjs writing an empty list) or when the list
// does not compile.
func TestPatternListLoads(t *testing.T) {
	l, err := defaultPatternList()
	if err != nil {
		t.Fatal(err)
	}
	if len(l.res) < 1000 {
		t.Errorf("%d patterns in the crawler-user-agents list, want about 1500: did it shrink?", len(l.res))
	}
	if testParser().patterns == nil {
		t.Error("parser has no second crawler list")
	}
	v, err := PatternListVersion()
	if err != nil || !strings.HasPrefix(v, "crawler-user-agents ") {
		t.Errorf("PatternListVersion() = %q, %v", v, err)
	}
	// Every pattern but a few is reached through the literal index, or the hot path
	// would run hundreds of regexps.
	if len(l.always) > 10 {
		t.Errorf("%d patterns run on every user agent: %v", len(l.always), l.always)
	}
}

func TestPatternListRejectsBadInput(t *testing.T) {
	for _, doc := range []string{
		"", "{", `{"patterns": []}`, `{"patterns": ["(unclosed"]}`, `{"patterns": "Googlebot"}`,
	} {
		if _, err := loadPatternList([]byte(doc)); err == nil {
			t.Errorf("loadPatternList(%q): no error", doc)
		}
	}
}

// TestPatternListMatchesEveryRegexp checks the literal index against running every
// pattern on every fixture: the index may only skip patterns that cannot match.
func TestPatternListMatchesEveryRegexp(t *testing.T) {
	l, err := defaultPatternList()
	if err != nil {
		t.Fatal(err)
	}
	inputs := append(readFixture(t, "crawlers.txt"), botUAs...)
	for _, line := range readFixture(t, "browsers.txt") {
		_, ua, _ := strings.Cut(line, "\t")
		inputs = append(inputs, ua)
	}
	for _, ua := range append(inputs, humanUAs...) {
		want := slices.ContainsFunc(l.res, func(re *lazyRegexp) bool { return re.MatchString(ua) })
		if got := l.matches(ua, fold(ua)); got != want {
			t.Errorf("matches(%q) = %v, running every pattern says %v", ua, got, want)
		}
	}
}

// TestLiteralIndex compares the automaton with strings.Index on random text.
func TestLiteralIndex(t *testing.T) {
	lits := []string{"bot", "ot", "crawl", "spider", "a", "abc", "bcd", "cd", "x/1.0", "bot"}
	ids := make([]int32, len(lits))
	for i := range ids {
		ids[i] = int32(i)
	}
	x, err := newLiteralIndex(lits, ids)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "abcdotrwlspiex/1.0 "
	for range 2000 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		s := string(b)
		got := map[int32]int{}
		x.scan(s, func(id int32) bool { got[id]++; return false })
		for i, l := range lits {
			if want := strings.Count(s, l); l != "a" && l != "ot" && got[int32(i)] != want {
				// Count does not count overlapping occurrences; the literals checked here
				// cannot overlap themselves.
				t.Fatalf("%q: literal %q found %d times, want %d", s, l, got[int32(i)], want)
			}
			if (got[int32(i)] > 0) != strings.Contains(s, l) {
				t.Fatalf("%q: literal %q found=%v", s, l, got[int32(i)] > 0)
			}
		}
	}
	if _, err := newLiteralIndex([]string{""}, []int32{0}); err == nil {
		t.Error("empty literal accepted")
	}
}
