package imports

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/parquet-go/parquet-go"
)

// ga4Row is a row of GA4's BigQuery export as Parquet: what loendur reads of it.
// Repeated records (event_params) are repeated groups, as BigQuery writes them.
type ga4Row struct {
	EventDate      string            `parquet:"event_date,optional"`
	EventTimestamp int64             `parquet:"event_timestamp,optional"`
	EventName      string            `parquet:"event_name,optional"`
	EventParams    []ga4ParquetParam `parquet:"event_params"`
	UserPseudoID   string            `parquet:"user_pseudo_id,optional"`
	Device         *struct {
		Category               string `parquet:"category,optional"`
		OperatingSystem        string `parquet:"operating_system,optional"`
		OperatingSystemVersion string `parquet:"operating_system_version,optional"`
		WebInfo                *struct {
			Browser        string `parquet:"browser,optional"`
			BrowserVersion string `parquet:"browser_version,optional"`
			Hostname       string `parquet:"hostname,optional"`
		} `parquet:"web_info,optional"`
	} `parquet:"device,optional"`
	Geo *struct {
		Country string `parquet:"country,optional"`
		Region  string `parquet:"region,optional"`
		City    string `parquet:"city,optional"`
	} `parquet:"geo,optional"`
	TrafficSource *struct {
		Name   string `parquet:"name,optional"`
		Medium string `parquet:"medium,optional"`
		Source string `parquet:"source,optional"`
	} `parquet:"traffic_source,optional"`
}

type ga4ParquetParam struct {
	Key   string `parquet:"key,optional"`
	Value *struct {
		StringValue *string  `parquet:"string_value,optional"`
		IntValue    *int64   `parquet:"int_value,optional"`
		FloatValue  *float64 `parquet:"float_value,optional"`
		DoubleValue *float64 `parquet:"double_value,optional"`
	} `parquet:"value,optional"`
}

// event fills ev from the row.
func (row *ga4Row) event(ev *ga4Event) {
	*ev = ga4Event{Params: ev.Params[:0], Date: row.EventDate, Micros: row.EventTimestamp, Name: row.EventName, PseudoID: row.UserPseudoID}
	for _, p := range row.EventParams {
		param := ga4Param{Key: p.Key}
		if v := p.Value; v != nil {
			if v.StringValue != nil {
				param.Str = *v.StringValue
			}
			if v.IntValue != nil {
				param.Int, param.HasInt = *v.IntValue, true
			}
			if v.DoubleValue != nil {
				param.Float = *v.DoubleValue
			} else if v.FloatValue != nil {
				param.Float = *v.FloatValue
			}
		}
		ev.Params = append(ev.Params, param)
	}
	if d := row.Device; d != nil {
		ev.Category, ev.OS, ev.OSVer = d.Category, d.OperatingSystem, d.OperatingSystemVersion
		if w := d.WebInfo; w != nil {
			ev.Browser, ev.BrowserVer = w.Browser, w.BrowserVersion
		}
	}
	if g := row.Geo; g != nil {
		ev.Country, ev.Region, ev.City = g.Country, g.Region, g.City
	}
	if t := row.TrafficSource; t != nil {
		ev.TrafficSrc, ev.TrafficMed, ev.TrafficName = t.Source, t.Medium, t.Name
	}
}

type ga4ParquetFormat struct{ path, name string }

// read streams the file a few hundred rows at a time, row group by row group, so
// memory does not grow with the file. Parquet has no lines: an error's line is the
// row's number (1 = the first row).
func (g ga4ParquetFormat) read(ctx context.Context, r *run, w *writer) (summary, error) {
	var sum summary
	f, err := os.Open(g.path)
	if err != nil {
		return sum, fmt.Errorf("open import file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return sum, err
	}
	pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return sum, &Error{File: g.name, Msg: "not a readable Parquet file (" + err.Error() + "); a truncated file?"}
	}
	for i, field := range pf.Schema().Fields() {
		if !slices.Contains(ga4Columns, field.Name()) {
			return sum, &Error{File: g.name, Line: 0, Column: fmt.Sprint(i + 1), Msg: fmt.Sprintf("unknown column %q: not in GA4's BigQuery export schema", field.Name())}
		}
	}
	r.parsers()
	reader := parquet.NewGenericReader[ga4Row](pf)
	defer reader.Close()
	buf := make([]ga4Row, 256)
	var line int64
	var ev ga4Event
	for {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		clear(buf)
		n, rerr := reader.Read(buf)
		for i := range buf[:n] {
			line++
			buf[i].event(&ev)
			e, keep, col, err := r.ga4Event(&ev)
			if err != nil {
				return sum, &Error{File: g.name, Line: line, Column: col, Msg: err.Error() + " (line: the row's number)"}
			}
			if !keep {
				continue
			}
			if err := r.take(ctx, w, &sum, e); err != nil {
				return sum, err
			}
		}
		if errors.Is(rerr, io.EOF) {
			return sum, nil
		}
		if rerr != nil {
			return sum, &Error{File: g.name, Line: line + 1, Msg: "cannot read: " + rerr.Error() + " (a truncated file?)"}
		}
	}
}
