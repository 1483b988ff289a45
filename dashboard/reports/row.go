package reports

import (
	"bytes"
	"encoding/json"
	"math"

	"github.com/websystems/loendur/internal/csvout"
)

// Field is one named value of a report row.
type Field struct {
	Name  string
	Value any
}

// Row is a report row: named fields in the order the dashboard shows them. It encodes
// as a JSON object in that order, and as a CSV record.
type Row []Field

// Get returns the value of the field name, or nil.
func (r Row) Get(name string) any {
	for _, f := range r {
		if f.Name == name {
			return f.Value
		}
	}
	return nil
}

// MarshalJSON writes the fields as an object, keeping their order.
func (r Row) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range r {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(f.Name)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(f.Value)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// writeCSV writes rows with a header of the first row's field names. Text cells are
// neutralised against spreadsheet formulas; numbers we computed (counts, rates, a
// negative change) stay numbers (see internal/csvout).
func writeCSV(rows []Row) ([]byte, error) {
	var b bytes.Buffer
	w := csvout.NewWriter(&b)
	if len(rows) > 0 {
		header := make([]string, len(rows[0]))
		for i, f := range rows[0] {
			header[i] = f.Name
		}
		if err := w.WriteStrings(header); err != nil {
			return nil, err
		}
	}
	for _, r := range rows {
		vals := make([]any, len(r))
		for i, f := range r {
			vals[i] = f.Value
		}
		if err := w.Write(vals...); err != nil {
			return nil, err
		}
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// ratio is 100·num/den rounded to one decimal, 0 when den is 0.
func percent(num, den float64) float64 {
	if den == 0 {
		return 0
	}
	return round1(100 * num / den)
}

// avg is num/den rounded to one decimal, 0 when den is 0.
func avg(num, den float64) float64 {
	if den == 0 {
		return 0
	}
	return round1(num / den)
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }
