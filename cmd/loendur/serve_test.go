package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/internal/clientip"
	"github.com/websystems/loendur/internal/privacy"
	"github.com/websystems/loendur/internal/salt"
	"github.com/websystems/loendur/internal/sites"
	"github.com/websystems/loendur/internal/spool"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
)

// A staff erasure through the JSON API of a serving process reaches an event the
// collector accepted a moment before and still holds in its queue: with an hour's
// flush interval, only the dashboard's wait for the queue can have stored it before
// the delete. On the server (chDB allows one store per process; the erasure itself is
// covered on both engines by internal/erasure and dashboard).
func TestStaffErasureReachesQueuedEvents(t *testing.T) {
	const site, addr = "queued.erase.test", "203.0.113.7"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	svc, deps := startServing(t, ctx, site, "--flush-interval", "1h", "--trusted-proxy", "0.0.0.0/0",
		"--accept-log", "off")
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := svc.col.Shutdown(sctx); err != nil {
				t.Error(err)
			}
		}
	}
	defer stop()
	if _, _, err := auth.AddUser(ctx, deps.db, "dpo@queued.test", auth.RoleAdmin, nil, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	key, err := auth.AddAPIKey(ctx, deps.db, "dpo@queued.test")
	if err != nil {
		t.Fatal(err)
	}

	event := httptest.NewRequest(http.MethodPost, "/api/event", strings.NewReader(
		`{"site":"`+site+`","name":"pageview","url":"https://`+site+`/private"}`))
	event.Header.Set("Content-Type", "text/plain")
	event.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0")
	event.Header.Set("X-Forwarded-For", addr)
	if resp, err := svc.app.Test(event, -1); err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("event: %v %v", resp, err)
	}

	day := time.Now().UTC().Format(time.DateOnly)
	erase := httptest.NewRequest(http.MethodPost, "/api/v1/requests/erase", strings.NewReader(
		`{"site":"`+site+`","kind":"ip","ip":"`+addr+`","from":"`+day+`","to":"`+day+`","confirm":true}`))
	erase.Header.Set("Content-Type", "application/json")
	erase.Header.Set("Authorization", "Bearer "+key)
	resp, err := svc.app.Test(erase, -1)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	var res struct {
		Events uint64 `json:"events"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &res) != nil || res.Events != 1 {
		t.Errorf("erase: %d %s; want the queued event erased", resp.StatusCode, body)
	}
	if n := storedEvents(t, deps.db, site); n != 0 {
		t.Errorf("%d events stored right after the erasure", n)
	}
	// Whatever the collector still held would be stored now.
	stop()
	if n := storedEvents(t, deps.db, site); n != 0 {
		t.Errorf("%d events stored after the collector flushed its queue: the erasure missed them", n)
	}
}

// The accept log of a serving collector fsyncs with the --accept-log-sync given and
// reports its exposure on the registry that /metrics serves: one event accepted and
// then delivered at shutdown was, at its fsync, one event exposed.
func TestAcceptLogExposureMetrics(t *testing.T) {
	const site = "powercut.metrics.test"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	svc, deps := startServing(t, ctx, site, "--flush-interval", "1h", "--accept-log-sync", "10ms")
	event := httptest.NewRequest(http.MethodPost, "/api/event", strings.NewReader(
		`{"site":"`+site+`","name":"pageview","url":"https://`+site+`/"}`))
	event.Header.Set("Content-Type", "text/plain")
	event.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0")
	if resp, err := svc.app.Test(event, -1); err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("event: %v %v", resp, err)
	}
	sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer scancel()
	if err := svc.col.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	mfs, err := deps.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if m := mf.GetMetric(); strings.HasPrefix(mf.GetName(), "loendur_accept_log_") && len(m) == 1 {
			got[mf.GetName()] = m[0].GetGauge().GetValue() + float64(m[0].GetHistogram().GetSampleCount())
		}
	}
	if got["loendur_accept_log_unsynced_events_peak"] != 1 {
		t.Errorf("loendur_accept_log_unsynced_events_peak = %g, want 1", got["loendur_accept_log_unsynced_events_peak"])
	}
	if got["loendur_accept_log_unsynced_age_seconds"] < 1 {
		t.Errorf("loendur_accept_log_unsynced_age_seconds counts %g fsyncs, want at least 1", got["loendur_accept_log_unsynced_age_seconds"])
	}
	if _, ok := got["loendur_accept_log_unsynced_seconds_peak"]; !ok {
		t.Errorf("loendur_accept_log_unsynced_seconds_peak not registered; got %v", got)
	}
}

// startServing starts the collector and dashboard of `loendur serve` with args, on the
// test server's database and a fresh spool, with site registered; no rate limit.
func startServing(t *testing.T, ctx context.Context, site string, args ...string) (*services, serveDeps) {
	t.Helper()
	cfg, err := parseServeConfig(append([]string{"--db", storetest.ServerDSN(t), "--rate-limit", "-1",
		"--spool", t.TempDir()}, args...))
	if err != nil {
		t.Fatal(err)
	}
	deps := testServeDeps(t, ctx, cfg, site)
	svc, err := newServices(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	svc.col.Start(ctx)
	return svc, deps
}

// testServeDeps opens what runServe opens, on cfg's database, with site registered.
func testServeDeps(t *testing.T, ctx context.Context, cfg serveConfig, site string) serveDeps {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := openStore(ctx, dbTarget{DSN: cfg.DB}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	registry := sites.NewRegistry(db, log)
	if _, err := registry.Ensure(ctx, []string{site}); err != nil {
		t.Fatal(err)
	}
	keeper := salt.New(db, log, time.Now)
	if err := keeper.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	sp, err := spool.Open(spool.Options{Dir: cfg.spoolDir(), MaxBytes: cfg.SpoolMax, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	proxies, err := clientip.NewResolver(cfg.TrustedProxy)
	if err != nil {
		t.Fatal(err)
	}
	truncator, err := privacy.NewTruncator(cfg.IPv4Prefix, cfg.IPv6Prefix)
	if err != nil {
		t.Fatal(err)
	}
	return serveDeps{db: db, sites: registry, salts: keeper, proxies: proxies, truncator: truncator, spool: sp,
		registry: prometheus.NewRegistry(), log: log}
}

func storedEvents(t *testing.T, db store.Store, site string) uint64 {
	t.Helper()
	var rows []struct {
		N uint64 `ch:"n"`
	}
	if err := db.Select(context.Background(), &rows, "SELECT count() AS n FROM events WHERE site = ?", site); err != nil {
		t.Fatal(err)
	}
	return rows[0].N
}

// serve tunes the garbage collector to the engine unless GOGC is set.
func TestTuneGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	for _, tc := range []struct {
		gogc, dsn string
		want      int
	}{
		{"", "clickhouse://127.0.0.1:9000/loendur", serverGOGC},
		{"", "chdb:///var/lib/loendur", embeddedGOGC},
		{"80", "clickhouse://127.0.0.1:9000/loendur", 100}, // the variable rules; Go read it at start
	} {
		t.Setenv("GOGC", tc.gogc)
		debug.SetGCPercent(100)
		tuneGC(tc.dsn)
		if got := debug.SetGCPercent(100); got != tc.want {
			t.Errorf("GOGC=%q, %s: GC percent %d, want %d", tc.gogc, tc.dsn, got, tc.want)
		}
	}
}
