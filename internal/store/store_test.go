package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/store/literal"
	"github.com/websystems/loendur/internal/testenv"
)

// openEngines opens every engine the tests run on, each with a fresh database.
// chDB allows one connection per process, so the embedded store is opened once.
func openEngines(t testing.TB) map[string]Store {
	t.Helper()
	return map[string]Store{
		"server": openTestServer(t, ""),
		// A loopback server gets uncompressed blocks; a remote one gets LZ4's path.
		"server-lz4": openTestServer(t, "?compress=lz4"),
		"embedded":   openTestEmbedded(t),
	}
}

func openTestServer(t testing.TB, params string) Store {
	t.Helper()
	addr := testenv.ClickHouseAddr(t)
	database := fmt.Sprintf("loendur_store_%d", rand.Uint32())
	s, err := Open(context.Background(), "clickhouse://"+addr+"/"+database+params, Options{})
	if err != nil {
		t.Fatalf("open server: %v", err)
	}
	t.Cleanup(func() {
		s.Exec(context.Background(), "DROP DATABASE IF EXISTS "+database)
		s.Close()
	})
	return s
}

var (
	embeddedOnce  sync.Once
	embeddedStore Store
	embeddedErr   error
)

func openTestEmbedded(t testing.TB) Store {
	t.Helper()
	lib := testenv.ChdbLib(t)
	embeddedOnce.Do(func() {
		// Not t.TempDir: the store outlives the test that opens it first.
		dir, err := os.MkdirTemp("", "loendur-store-chdb-")
		if err != nil {
			embeddedErr = err
			return
		}
		embeddedStore, embeddedErr = Open(context.Background(), "chdb://"+dir, Options{LibPath: lib})
	})
	if embeddedErr != nil {
		t.Fatalf("open embedded: %v", embeddedErr)
	}
	return embeddedStore
}

func sampleEvent(site string, ts time.Time) Event {
	return Event{
		EventID: uuid.New(), Site: site, Timestamp: ts.Truncate(time.Second), Name: "pageview",
		Hostname: "www." + site, Pathname: "/pricing/ä\tb", ReferrerHost: "google.com", ReferrerSource: "Google",
		UTMSource: "news", UTMMedium: "email", UTMCampaign: "nov", UTMTerm: "a\\b\nc\r\x00", UTMContent: "c",
		CountryCode: "EE", Region: "Harju", City: "Tallinn", Browser: "Firefox", BrowserVersion: "120",
		OS: "Linux", OSVersion: "10.15", Device: "desktop", Width: 1280, VisitorID: 1<<63 + 5, SessionID: 42,
		IP: "203.0.0.0", EngagedMS: 1500, Scroll: 75, PropKeys: []string{"plan", "quote'"}, PropValues: []string{"pro", "back\\slash\ttab"},
	}
}

func TestConformance(t *testing.T) {
	for engine, s := range openEngines(t) {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			if _, err := Migrate(ctx, s); err != nil {
				t.Fatalf("migrate: %v", err)
			}
			t.Run("MigrateTwice", func(t *testing.T) { testMigrateTwice(t, s) })
			t.Run("InsertAndSelect", func(t *testing.T) { testInsertAndSelect(t, s) })
			t.Run("BindArgs", func(t *testing.T) { testBindArgs(t, s) })
			t.Run("Literals", func(t *testing.T) { testLiterals(t, s) })
			t.Run("DedupToken", func(t *testing.T) { testDedupToken(t, s) })
			t.Run("Ping", func(t *testing.T) {
				if err := s.Ping(ctx); err != nil {
					t.Fatal(err)
				}
				if s.Info().Version == "" || s.Info().Engine != strings.TrimSuffix(engine, "-lz4") {
					t.Fatalf("info = %+v", s.Info())
				}
			})
		})
	}
}

func testMigrateTwice(t *testing.T, s Store) {
	applied, err := Migrate(context.Background(), s)
	if err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if len(applied) != 0 {
		t.Fatalf("second migrate applied %v, want nothing", applied)
	}
	var tables []struct {
		Name string `ch:"name"`
	}
	if err := s.Select(context.Background(), &tables, "SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name"); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tb := range tables {
		names = append(names, tb.Name)
	}
	for _, want := range []string{"events", "salts", "schema_migrations", "sites"} {
		if i := sort.SearchStrings(names, want); i >= len(names) || names[i] != want {
			t.Errorf("table %s missing; have %v", want, names)
		}
	}
}

func testInsertAndSelect(t *testing.T, s Store) {
	ctx := context.Background()
	site := fmt.Sprintf("conf%d.example", rand.Uint32())
	now := time.Now().UTC()
	want := []Event{sampleEvent(site, now), sampleEvent(site, now.Add(time.Second))}
	want[1].PropKeys, want[1].PropValues = nil, nil
	if err := InsertEvents(ctx, s, want); err != nil {
		t.Fatalf("insert: %v", err)
	}
	var got []Event
	if err := s.Select(ctx, &got, "SELECT "+strings.Join(EventColumns, ", ")+" FROM events WHERE site = ? ORDER BY timestamp", site); err != nil {
		t.Fatalf("select: %v", err)
	}
	want[1].PropKeys, want[1].PropValues = []string{}, []string{}
	if len(got) != 2 {
		t.Fatalf("got %d rows, want 2", len(got))
	}
	for i := range want {
		got[i].Timestamp = got[i].Timestamp.UTC()
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func testBindArgs(t *testing.T, s Store) {
	var rows []struct {
		S  string    `ch:"s"`
		N  uint64    `ch:"n"`
		T  time.Time `ch:"t"`
		Q  string    `ch:"q"`
		AR []string  `ch:"ar"`
	}
	ts := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	tricky := "it's a \\ 'test'? \n"
	err := s.Select(context.Background(), &rows, "SELECT ? AS s, toUInt64(?) AS n, ? AS t, '?' AS q, ? AS ar",
		tricky, uint64(18446744073709551615), ts, []string{"a'b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].S != tricky || rows[0].N != 18446744073709551615 || !rows[0].T.Equal(ts) || rows[0].Q != "?" ||
		!reflect.DeepEqual(rows[0].AR, []string{"a'b", "c"}) {
		t.Fatalf("got %+v", rows)
	}
}

func TestConcurrentMigrations(t *testing.T) {
	database := fmt.Sprintf("loendur_race_%d", rand.Uint32())
	dsn := "clickhouse://" + testenv.ClickHouseAddr(t) + "/" + database
	t.Cleanup(func() {
		if s, err := Open(context.Background(), dsn, Options{}); err == nil {
			s.Exec(context.Background(), "DROP DATABASE IF EXISTS "+database)
			s.Close()
		}
	})
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(context.Background(), dsn, Options{})
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			_, err = Migrate(context.Background(), s)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent migrate: %v", err)
		}
	}
}

func TestEmbeddedFolderLock(t *testing.T) {
	first := openTestEmbedded(t).(*embedded)
	dir := filepath.Dir(first.lock.Name())
	_, err := Open(context.Background(), "chdb://"+dir, Options{})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second open of %s: err = %v, want ErrLocked", dir, err)
	}
}

func TestOpenErrors(t *testing.T) {
	for _, tc := range []struct{ dsn, want string }{
		{"postgres://x", "use chdb://PATH"},
		{"clickhouse://127.0.0.1:1/db", "is the server running"},
		{"clickhouse://u:secret@127.0.0.1:1/db", "127.0.0.1:1"},
		{"clickhouse://127.0.0.1:1/bad-name", "letters, digits"},
	} {
		_, err := Open(context.Background(), tc.dsn, Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "secret") {
			t.Errorf("Open(%q) = %v, want an error mentioning %q and no password", tc.dsn, err, tc.want)
		}
	}
}

func TestBlockCompression(t *testing.T) {
	for _, tc := range []struct {
		dsn     string
		lz4     bool
		wantErr string
	}{
		{dsn: "clickhouse://127.0.0.1:9000/db"},
		{dsn: "clickhouse://localhost/db"},
		{dsn: "clickhouse://[::1]:9000/db"},
		{dsn: "clickhouse://127.0.0.1:9000,ch2:9000/db", lz4: true},
		{dsn: "clickhouse://ch1:9000/db", lz4: true},
		{dsn: "clickhouse://127.0.0.1:9000/db?compress=lz4", lz4: true},
		{dsn: "clickhouse://ch1:9000/db?compress=none"},
		{dsn: "clickhouse://u:secret@ch1:9000/db?compress=zstd", wantErr: `compress="zstd": use lz4 or none`},
	} {
		opts, _, err := serverOptions(tc.dsn)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "secret") {
				t.Errorf("%s: error %v, want one saying %q without the password", tc.dsn, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.dsn, err)
		}
		if got := opts.Compression != nil; got != tc.lz4 {
			t.Errorf("%s: compressed %v, want %v", tc.dsn, got, tc.lz4)
		}
	}
}

// A batch inserted twice under one token is stored once where the engine supports
// deduplication tokens; ClickHouse 18.16 does not (event ids reveal duplicates there).
func testDedupToken(t *testing.T, s Store) {
	if !s.Info().Features().ModernSettings {
		t.Skipf("%s %s has no insert_deduplication_token", s.Info().Engine, s.Info().Version)
	}
	ctx := WithInsertToken(context.Background(), uuid.NewString())
	site := fmt.Sprintf("dedup%d.example", rand.Uint32())
	batch := []Event{sampleEvent(site, time.Now()), sampleEvent(site, time.Now())}
	for range 2 {
		if err := InsertEvents(ctx, s, batch); err != nil {
			t.Fatal(err)
		}
	}
	var rows []struct {
		N uint64 `ch:"n"`
	}
	if err := s.Select(context.Background(), &rows, "SELECT count() AS n FROM events WHERE site = ?", site); err != nil {
		t.Fatal(err)
	}
	if rows[0].N != 2 {
		t.Fatalf("stored %d rows after inserting one batch of 2 twice under one token", rows[0].N)
	}
}

// testLiterals runs every helper of package literal on the engine: what it writes is
// what the engine reads back.
func testLiterals(t *testing.T, s Store) {
	ts := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	id := uuid.New()
	tricky := "it's a \\ 'test'? \n\t\x00"
	var rows []struct {
		T    time.Time `ch:"t"`
		D    string    `ch:"d"`
		S    string    `ch:"s"`
		Like uint8     `ch:"glob"`
		Lit  uint8     `ch:"lit"`
		InN  uint8     `ch:"in_n"`
		OutN uint8     `ch:"out_n"`
		InS  uint8     `ch:"in_s"`
		InU  uint8     `ch:"in_u"`
	}
	q := "SELECT " + literal.DateTime(ts) + " AS t, toString(" + literal.Date(ts) + ") AS d, " + literal.Quote(tricky) + " AS s, " +
		`'/50%_off/a\\b/x' LIKE ` + literal.Quote(literal.LikePattern(`/50%_off/a\b*`)) + " AS glob, " +
		`'/50x-off/a\\b/x' LIKE ` + literal.Quote(literal.LikePattern(`/50%_off/a\b*`)) + " AS lit, " +
		"toUInt64(18446744073709551615) IN " + literal.UInt64List([]uint64{3, 1<<64 - 1}) + " AS in_n, " +
		"toUInt64(4) IN " + literal.UInt64List([]uint64{3, 1<<64 - 1}) + " AS out_n, " +
		"'a\\'b' IN " + literal.StringList([]string{"x", "a'b"}) + " AS in_s, " +
		"toUUID('" + id.String() + "') IN " + literal.UUIDList([]uuid.UUID{uuid.New(), id}) + " AS in_u"
	if err := s.Select(context.Background(), &rows, q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	if len(rows) != 1 {
		t.Fatalf("got %d rows", len(rows))
	}
	r := rows[0]
	if !r.T.Equal(ts) || r.D != "2026-03-04" || r.S != tricky {
		t.Errorf("DateTime, Date, Quote: got %v, %q, %q", r.T, r.D, r.S)
	}
	if r.Like != 1 || r.Lit != 0 {
		t.Errorf("LikePattern: match %d (want 1), literal %% and _ matched anything: %d (want 0)", r.Like, r.Lit)
	}
	if r.InN != 1 || r.OutN != 0 || r.InS != 1 || r.InU != 1 {
		t.Errorf("lists: %+v", r)
	}
}

// A batch of several queue chunks goes as a block per chunk within one INSERT, and the
// server stores it as one part with every event once: no extra parts for the server to
// merge.
func TestInsertOfManyBlocksIsOnePart(t *testing.T) {
	ctx := context.Background()
	s := openTestServer(t, "")
	if _, err := Migrate(ctx, s); err != nil {
		t.Fatal(err)
	}
	start := time.Now().UTC().Add(-time.Hour)
	chunks := make([][]Event, 2)
	for i := range 12000 {
		e := sampleEvent("blocks.example", start)
		e.Timestamp = start.Add(time.Duration(i) * time.Millisecond)
		chunks[i/7000] = append(chunks[i/7000], e)
	}
	if err := InsertEventChunks(ctx, s, chunks); err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		Events uint64 `ch:"events"`
		IDs    uint64 `ch:"ids"`
		Times  uint64 `ch:"times"`
	}
	if err := s.Select(ctx, &rows, `SELECT count() AS events, uniqExact(event_id) AS ids, uniqExact(time_us) AS times
		FROM events WHERE site = 'blocks.example'`); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Events != 12000 || rows[0].IDs != 12000 || rows[0].Times != 12000 {
		t.Fatalf("stored %+v, want 12000 events, each once with its own time", rows)
	}
	var parts []struct {
		Name string `ch:"name"`
	}
	// Level 0: a part as an insert wrote it, not one merged from several.
	if err := s.Select(ctx, &parts, "SELECT name FROM system.parts WHERE database = currentDatabase() AND table = 'events' AND active AND level = 0"); err != nil {
		t.Fatal(err)
	}
	if len(parts) != 1 {
		t.Errorf("the insert made the parts %v of events, want one", parts)
	}
}
