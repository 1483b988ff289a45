package useragent

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
)

// readFixture reads a testdata list: one entry a line, # comments and blank lines skipped.
func readFixture(t *testing.T, name string) []string {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); strings.TrimSpace(line) != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCrawlerFixturesDropped: at least 99 % of the crawler user agents of public lists
// (testdata/crawlers.txt) are recognised as bots.
func TestCrawlerFixturesDropped(t *testing.T) {
	p := testParser()
	uas := readFixture(t, "crawlers.txt")
	if len(uas) < 300 {
		t.Fatalf("only %d crawler user agents in testdata", len(uas))
	}
	var missed []string
	for _, ua := range uas {
		if !p.Parse(ua).Bot {
			missed = append(missed, ua)
		}
	}
	share := 100 * float64(len(uas)-len(missed)) / float64(len(uas))
	t.Logf("%d crawler user agents, %.1f %% dropped", len(uas), share)
	if share < 99 {
		t.Errorf("%.1f %% of crawler user agents dropped, want at least 99 %%; missed:\n%s", share, strings.Join(missed, "\n"))
	}
}

// TestBrowserFixturesKept: every browser of testdata/browsers.txt, in-app browsers of
// social apps included, is counted as a person.
func TestBrowserFixturesKept(t *testing.T) {
	p := testParser()
	lines := readFixture(t, "browsers.txt")
	total, lost := 0, 0
	for _, line := range lines {
		w, ua, ok := strings.Cut(line, "\t")
		weight, err := strconv.Atoi(w)
		if !ok || err != nil {
			t.Fatalf("bad fixture line %q: want WEIGHT<TAB>USER-AGENT", line)
		}
		total += weight
		if p.Parse(ua).Bot {
			lost += weight
			t.Errorf("browser taken for a bot: %s", ua)
		}
	}
	t.Logf("%d browsers, weighted share kept %.2f %%", len(lines), 100*float64(total-lost)/float64(total))
}
