// Package csvout owns every CSV file loendur writes (report downloads, data subjects'
// exports): records of RFC 4180 CSV whose text cells cannot run as spreadsheet
// formulas.
//
// A spreadsheet that opens a CSV file treats a cell starting with = + - @ as a formula
// (=HYPERLINK(...) sends the reader's data elsewhere, =cmd|... runs a program in old
// Excel), and some also after a leading TAB or CR. Page paths, referrers, UTM values,
// event names and properties come from visitors, so every text cell that starts with
// one of those characters, or with its full-width form (＝ ＋ － ＠, which some
// spreadsheets read as the ASCII one), gets a leading apostrophe, as OWASP recommends
// ("CSV Injection"): spreadsheets show the text, and the apostrophe tells a program
// reading the file that the cell was changed.
//
// Numbers are not text: a Go number (a count, a rate, a change of -12 %) is written as
// it is, since we produced it and a spreadsheet must read it as a number. A value from
// visitors must therefore reach the writer as a string, never as a number parsed from
// their text, and is neutralised even when it looks like a number ("-12" becomes
// "'-12").
package csvout

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// Writer writes records of cells (see Cell) to a CSV file.
type Writer struct {
	w *csv.Writer
}

// NewWriter returns a Writer on w. Call Flush at the end.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: csv.NewWriter(w)}
}

// Write writes one record, each value formatted by Cell.
func (w *Writer) Write(values ...any) error {
	rec := make([]string, len(values))
	for i, v := range values {
		rec[i] = Cell(v)
	}
	if err := w.w.Write(rec); err != nil {
		return fmt.Errorf("write csv record: %w", err)
	}
	return nil
}

// WriteStrings writes one record of text cells, each neutralised.
func (w *Writer) WriteStrings(cells []string) error {
	rec := make([]string, len(cells))
	for i, s := range cells {
		rec[i] = Text(s)
	}
	if err := w.w.Write(rec); err != nil {
		return fmt.Errorf("write csv record: %w", err)
	}
	return nil
}

// Flush writes what is buffered and returns the first error of any write.
func (w *Writer) Flush() error {
	w.w.Flush()
	if err := w.w.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// Cell formats one value as a cell: nil is empty, Go numbers are written as numbers
// (never prefixed), a string is neutralised by Text, and anything else (a list, a
// struct) is its JSON text, neutralised too.
func Cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return Text(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case *float64:
		if x == nil {
			return ""
		}
		return strconv.FormatFloat(*x, 'f', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case uint32:
		return strconv.FormatUint(uint64(x), 10)
	case uint16:
		return strconv.FormatUint(uint64(x), 10)
	case uint8:
		return strconv.FormatUint(uint64(x), 10)
	case bool:
		return strconv.FormatBool(x)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return Text(fmt.Sprint(x))
		}
		return Text(string(b))
	}
}

// Text neutralises a text cell: it returns s with a leading apostrophe when s starts
// with a character that makes a spreadsheet read it as a formula, else s unchanged.
func Text(s string) string {
	if Dangerous(s) {
		return "'" + s
	}
	return s
}

// Dangerous reports whether a spreadsheet may read s, as a cell, as a formula: it
// starts with = + - @, TAB, CR, LF, or a full-width ＝ ＋ － ＠.
func Dangerous(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	switch r {
	case '=', '+', '-', '@', '\t', '\r', '\n', '＝', '＋', '－', '＠':
		return true
	}
	return false
}
