package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/websystems/loendur/internal/store"
)

// checkMigrations asserts that schema_migrations records each migration, and
// when once is set, each exactly once (two processes migrating at the same moment may
// both record a migration: store.Migrate documents that as harmless).
func checkMigrations(t *testing.T, d *db, once bool) {
	t.Helper()
	var rows []struct {
		Version uint32 `ch:"version"`
		N       uint64 `ch:"n"`
	}
	if err := d.open(t).Select(context.Background(), &rows,
		"SELECT version, count() AS n FROM schema_migrations GROUP BY version ORDER BY version"); err != nil {
		t.Fatal(err)
	}
	var got []uint32
	for _, r := range rows {
		got = append(got, r.Version)
		if once && r.N != 1 {
			t.Errorf("migration %d recorded %d times, want once", r.Version, r.N)
		}
	}
	want, err := store.Versions(d.open(t).Info())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("schema_migrations has versions %v, want one per migration (schema/ and the derived tables): %v", got, want)
	}
}

// Starting twice on one database migrates once; the second start changes nothing and
// serves.
func TestMigrationsRunOnce(t *testing.T) {
	t.Parallel()
	d := newDB(t, "server")
	args := []string{"--site", site}
	first := start(t, run{DB: d, Args: args})
	first.stopClean()
	if !strings.Contains(first.Log(), "schema migrated") {
		t.Errorf("first start on an empty database did not log \"schema migrated\":\n%s", first.Log())
	}
	second := start(t, run{DB: d, Args: args})
	if r := second.post(event("pageview", "https://site.test/", nil), nil); r.Status != 202 {
		t.Errorf("second run: POST answered %d %s, want 202", r.Status, r.Reason)
	}
	second.stopClean()
	if log := second.Log(); strings.Contains(log, "schema migrated") {
		t.Errorf("second start migrated again:\n%s", log)
	}
	checkMigrations(t, d, true)
}

// Two processes migrating one empty database at the same moment both start.
func TestMigrationsFromTwoProcessesAtOnce(t *testing.T) {
	t.Parallel()
	d := newDB(t, "server")
	a := launch(t, run{DB: d, Args: []string{"--site", site}})
	b := launch(t, run{DB: d, Args: []string{"--site", site}})
	a.WaitReady()
	b.WaitReady()
	for _, p := range []*loendur{a, b} {
		if r := p.post(event("pageview", "https://site.test/", nil), nil); r.Status != 202 {
			t.Errorf("POST: %d %s, want 202", r.Status, r.Reason)
		}
	}
	a.stopClean()
	b.stopClean()
	checkMigrations(t, d, false)
	if n := len(d.events(t)); n != 2 {
		t.Errorf("%d events stored, want 2 (one through each process)", n)
	}
}

// Two collectors on one server database hash one visitor to one id, and two visitors
// to two.
func TestTwoCollectorsAgreeOnVisitorIDs(t *testing.T) {
	t.Parallel()
	d := newDB(t, "server")
	args := []string{"--site", site, "--trusted-proxy", "127.0.0.1/32"}
	a := start(t, run{DB: d, Args: args})
	b := start(t, run{DB: d, Args: args})
	checkVisitorIDs(t, d, a, b)
}

// Two collectors that raced to create the day's salt, as two replicas started together
// on an empty database do: the one that read the salts table before its peer's salt
// arrived must not go on hashing with a different salt than its peer.
//
// The race is made deterministic by writing the peer's salt into the table (as the peer
// would) after collector A has loaded its own and before B starts; the peer's salt sorts
// first, so it is the one both must agree on ("the smallest, if collectors raced").
func TestTwoCollectorsAgreeAfterSaltRace(t *testing.T) {
	t.Parallel()
	d := newDB(t, "server")
	args := []string{"--site", site, "--trusted-proxy", "127.0.0.1/32"}
	a := start(t, run{DB: d, Args: args})
	peerSalt := strings.Repeat("0", 62) + "01" // 32 bytes as hex, smaller than any random salt
	now := time.Now().UTC()
	// The peer's salt is created after A's (A is already serving), as a racing peer's would be.
	err := d.open(t).Insert(context.Background(), "salts", []string{"day", "salt", "created", "created_ns"},
		[][]any{{now.Truncate(24 * time.Hour), peerSalt, now, uint64(now.UnixNano())}})
	if err != nil {
		t.Fatal(err)
	}
	b := start(t, run{DB: d, Args: args})
	checkVisitorIDs(t, d, a, b)
}

// checkVisitorIDs sends one visitor's page view to each of a and b, and another
// visitor's to a, and compares the stored visitor ids.
func checkVisitorIDs(t *testing.T, d *db, a, b *loendur) {
	t.Helper()
	same := map[string]string{"X-Forwarded-For": "203.0.113.50"}
	other := map[string]string{"X-Forwarded-For": "203.0.113.51"}
	for _, c := range []struct {
		p    *loendur
		path string
		hdr  map[string]string
	}{{a, "/a", same}, {b, "/b", same}, {a, "/other", other}} {
		if r := c.p.post(event("pageview", "https://site.test"+c.path, nil), c.hdr); r.Status != 202 {
			t.Fatalf("POST %s: %d %s, want 202", c.path, r.Status, r.Reason)
		}
	}
	a.stopClean()
	b.stopClean()
	ids := map[string]uint64{}
	for _, e := range d.events(t) {
		ids[e.Pathname] = e.VisitorID
	}
	if len(ids) != 3 {
		t.Fatalf("stored %d events (%v), want 3", len(ids), ids)
	}
	if ids["/a"] != ids["/b"] {
		t.Errorf("one visitor (same address and user agent) got visitor_id %d on collector A and %d on collector B, want one id",
			ids["/a"], ids["/b"])
	}
	if ids["/other"] == ids["/a"] {
		t.Errorf("two addresses got the same visitor_id %d", ids["/a"])
	}
}
