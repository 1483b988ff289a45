package retention_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/websystems/loendur/internal/derived"
	"github.com/websystems/loendur/internal/derived/derivedtest"
	"github.com/websystems/loendur/internal/retention"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
)

func TestRetentionDropsOnlyWhatIsTooOld(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 6, 15, 3, 0, 0, 0, time.UTC)
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			long, short := engine+".long.retention.test", engine+".short.retention.test"
			if err := db.Insert(ctx, "sites", []string{"domain", "created", "timezone", "retention_months", "honour_dnt", "deleted", "version"},
				[][]any{{long, now, "UTC", uint16(25), uint8(1), uint8(0), uint64(1)}, {short, now, "UTC", uint16(2), uint8(1), uint8(0), uint64(1)}}); err != nil {
				t.Fatal(err)
			}
			// The last two fall either side of the 2-month cutoff, in the month it cuts:
			// that month's rows (monthly rollups) keep the later one only.
			ages := []time.Time{now.AddDate(0, -26, 0), now.AddDate(0, -24, 0), now.AddDate(0, -3, 0), now.AddDate(0, -1, 0), now,
				now.AddDate(0, -2, -5), now.AddDate(0, -2, 5)}
			var evs []store.Event
			for _, site := range []string{long, short} {
				for i, at := range ages {
					evs = append(evs, store.Event{EventID: uuid.New(), Site: site, Timestamp: at, Name: "pageview",
						Pathname: "/", VisitorID: visitor(i + 1), SessionID: uint64(i + 1), IP: "203.0.0.0"},
						store.Event{EventID: uuid.New(), Site: site, Timestamp: at.Add(time.Second), Name: "Signup",
							Pathname: "/", VisitorID: visitor(i + 1), SessionID: uint64(i + 1), IP: "203.0.0.0"})
				}
			}
			if err := store.InsertEvents(ctx, db, evs); err != nil {
				t.Fatal(err)
			}
			for _, site := range []string{long, short} {
				derivedtest.WriteVisits(t, db, site, now.Add(-time.Hour))
				derivedtest.RequireRows(t, db, site)
			}
			// Imported aggregates (another tool's history) age like events.
			var imported [][]any
			for i, at := range ages {
				imported = append(imported, []any{short, uint64(1), at, uint64(i + 1), uint64(1), uint64(0), uint64(1), uint64(0)})
			}
			if err := db.Insert(ctx, "imported_visitors", []string{"site", "import_id", "date", "visitors", "pageviews", "bounces", "visits", "visit_duration"}, imported); err != nil {
				t.Fatal(err)
			}
			reg := prometheus.NewRegistry()
			job := retention.New(db, slog.New(slog.NewTextHandler(io.Discard, nil)), reg, func() time.Time { return now })
			if _, err := job.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			left := func(table, col, site string) []uint64 {
				var rows []struct {
					V uint64 `ch:"v"`
				}
				if err := db.Select(ctx, &rows, "SELECT DISTINCT toUInt64("+col+") AS v FROM "+table+" WHERE site = ? ORDER BY v", site); err != nil {
					t.Fatal(err)
				}
				var out []uint64
				for _, r := range rows {
					out = append(out, r.V)
				}
				return out
			}
			if got, want := left("events", "visitor_id", long), visitors(2, 3, 4, 5, 6, 7); !slices.Equal(got, want) {
				t.Errorf("25 months: visitors left %v, want %v", got, want)
			}
			if got, want := left("events", "visitor_id", short), visitors(4, 5, 7); !slices.Equal(got, want) {
				t.Errorf("2 months: visitors left %v, want %v", got, want)
			}
			if got := left("page_stats_daily", "day", short); len(got) != 3 {
				t.Errorf("2 months: page_stats_daily rows left %v, want 3", got)
			}
			if got := left("page_stats_monthly", "pageviews", short); !slices.Equal(got, []uint64{1}) {
				t.Errorf("2 months: page views per month left %v, want 1 in each (April lost its earlier one)", got)
			}
			if got := left("imported_visitors", "visitors", short); !slices.Equal(got, []uint64{4, 5, 7}) {
				t.Errorf("2 months: imported days left %v, want [4 5 7]", got)
			}
			// Every derived table lost the same old days as the events.
			derivedtest.NoDrift(t, db, long, "25 months")
			derivedtest.NoDrift(t, db, short, "2 months")
			if n := deletedEvents(t, reg); n < 8 {
				t.Errorf("loendur_retention_deleted_total{table=events} = %v, want >= 8", n)
			}
		})
	}
}

func deletedEvents(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "loendur_retention_deleted_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "table" && l.GetValue() == "events" {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatal("no loendur_retention_deleted_total{table=events}")
	return 0
}

// visitor is the id of the fixture's n-th visitor (from 1), one the visit sample holds,
// so that every visit is in the sample (derived.VisitSample) too.
func visitor(n int) uint64 { return derivedtest.SampledVisitors(n, 1)[n-1] }

func visitors(ns ...int) []uint64 {
	out := make([]uint64, len(ns))
	for i, n := range ns {
		out[i] = visitor(n)
	}
	return out
}

// Rebuild claims live two minutes; retention drops their months before the last.
func TestRetentionDropsClaimsOfPastMonths(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 6, 15, 3, 0, 0, 0, time.UTC)
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			site := engine + ".claims.retention.test"
			months := []time.Time{now.AddDate(0, -3, 0), now.AddDate(0, -2, 0), now.AddDate(0, -1, 0), now}
			var rows [][]any
			for _, at := range months {
				rows = append(rows, []any{site, uuid.NewString(), "done", at})
			}
			if err := db.Insert(ctx, derived.ClaimsTable, []string{"site", "token", "state", "at"}, rows); err != nil {
				t.Fatal(err)
			}
			job := retention.New(db, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, func() time.Time { return now })
			if _, err := job.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			var left []struct {
				Month uint32 `ch:"month"`
			}
			if err := db.Select(ctx, &left, "SELECT DISTINCT toYYYYMM(at) AS month FROM "+derived.ClaimsTable+
				" WHERE site = ? ORDER BY month", site); err != nil {
				t.Fatal(err)
			}
			var got []uint32
			for _, l := range left {
				got = append(got, l.Month)
			}
			if want := []uint32{202605, 202606}; !slices.Equal(got, want) {
				t.Errorf("claims left of months %v, want %v", got, want)
			}
		})
	}
}
