package reports_test

import (
	"context"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/websystems/loendur/dashboard/reports"
	"github.com/websystems/loendur/internal/derived"
	"github.com/websystems/loendur/internal/derived/derivedtest"
	"github.com/websystems/loendur/internal/eventtest"
	"github.com/websystems/loendur/internal/sites"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
)

// The reports on the local cluster (2 shards × 2 replicas) equal those of a single
// server fed the same events: overview, top and exit pages, custom events, sources,
// devices and entry pages, read through the Distributed tables, and the overview and
// top pages from the visit sample (derived.VisitSample), once the visits are written.
func TestReportsOnClusterEqualSingleServer(t *testing.T) {
	ctx := context.Background()
	cluster, _ := storetest.Cluster(t)
	single := storetest.Server(t)
	events := eventtest.Realistic(3000, 11)
	const site = "example.com"
	day := time.Date(events[0].Timestamp.Year(), events[0].Timestamp.Month(), events[0].Timestamp.Day(), 0, 0, 0, 0, time.UTC)
	q := reports.Query{Site: site, Location: time.UTC,
		Range: reports.Range{From: day, To: day, Start: day, End: day.Add(24 * time.Hour)}}
	answers := map[string]map[string]any{}
	for name, db := range map[string]store.Store{"cluster": cluster, "single": single} {
		if err := store.InsertEvents(ctx, db, events); err != nil {
			t.Fatal(err)
		}
		reg := sites.NewRegistry(db, slog.New(slog.DiscardHandler))
		if _, err := reg.Ensure(ctx, []string{site}); err != nil {
			t.Fatal(err)
		}
		derivedtest.Finalize(t, db, site, day.Add(48*time.Hour))
		rep, err := reports.New(reports.Deps{DB: db, Sites: reg, Now: func() time.Time { return day.Add(48 * time.Hour) }})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]any{}
		add := func(report string, v any, err error) {
			if err != nil {
				t.Fatalf("%s: %s: %v", name, report, err)
			}
			got[report] = v
		}
		ov, err := rep.Overview(ctx, q)
		add("overview", ov, err)
		pages, err := rep.TopPages(ctx, q)
		add("top pages", pages, err)
		exits, err := rep.ExitPages(ctx, q)
		add("exit pages", exits, err)
		evs, err := rep.Events(ctx, q)
		add("events", evs, err)
		for _, dim := range []string{"sources", "devices", "entry-pages"} {
			rows, err := rep.Dimension(ctx, q, dim, "")
			add(dim, rows, err)
		}
		sq := q
		sq.Sample = derived.VisitSample.Rate
		ov, err = rep.Overview(ctx, sq)
		add("sampled overview", ov, err)
		pages, err = rep.TopPages(ctx, sq)
		add("sampled top pages", pages, err)
		answers[name] = got
	}
	for report, want := range answers["single"] {
		if got := answers["cluster"][report]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s on the cluster:\n%+v\nsingle server:\n%+v", report, got, want)
		}
	}
	for _, name := range []string{"overview", "sampled overview"} {
		if ov := answers["single"][name]; reflect.ValueOf(ov).IsZero() {
			t.Errorf("the %s is empty: the fixture's day is not the one asked, or none of its visitors is in the sample (%v)", name, ov)
		}
	}
}
