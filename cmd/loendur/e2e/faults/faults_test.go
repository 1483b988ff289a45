package faults

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/websystems/loendur/cmd/loendur/e2e/e2eproc"
	"github.com/websystems/loendur/internal/spool"
	"github.com/websystems/loendur/internal/store"
)

// 1. ClickHouse stopped for 60 s under steady load, then started again: every event
// answered 202 is stored exactly once after recovery, and the beacon kept answering 202
// during the outage (the spool took the batches).
func TestClickHouseDownSixtySeconds(t *testing.T) {
	t.Parallel()
	ch := newClickHouse(t)
	c := startCollector(t, ch, t.TempDir())
	load := startLoad(t, c.URL(""), 400, 8, 0)

	sleepOrFail(t, c, 3*time.Second)
	before := load.acceptedCount()
	ch.stop()
	downAt := time.Now()
	t.Logf("ClickHouse stopped (SIGTERM) after %d events accepted", before)

	sleepOrFail(t, c, 30*time.Second)
	if v, ok := c.waitMetric("loendur_spool_batches", 5*time.Second, func(v float64) bool { return v > 0 }); !ok {
		t.Errorf("loendur_spool_batches = %g after 30 s without ClickHouse, want > 0 (batches spooled)", v)
	}
	sleepOrFail(t, c, 60*time.Second-time.Since(downAt))
	duringOutage := load.acceptedCount() - before
	ch.start()
	t.Logf("ClickHouse was down %s; %d events accepted meanwhile", time.Since(downAt).Round(time.Millisecond), duringOutage)

	sleepOrFail(t, c, 5*time.Second)
	load.Stop()
	t.Logf("load: %s", load.summary())
	load.checkAnswers(t)
	if duringOutage < 60*400/2 {
		t.Errorf("only %d events accepted during the 60 s outage at 400 events/s: the beacon should not depend on ClickHouse", duringOutage)
	}
	r := collect(t, ch, load, c, 90*time.Second, nil)
	assertExactlyOnce(t, ch, r)
}

// 2. The collector killed with SIGKILL under load while ClickHouse is down (so batches
// are in the spool), then restarted with the same spool: the spool replays, nothing
// that was answered 202 is missing and nothing is stored twice. A 202 is given after the
// accept log write (no fsync), so the events still in memory at the kill are
// recovered from it at the restart: missing 0, duplicates 0.
func TestCollectorKilledReplaysSpool(t *testing.T) {
	t.Parallel()
	ch := newClickHouse(t)
	spoolDir := t.TempDir()
	c := startCollector(t, ch, spoolDir)
	load := startLoad(t, c.URL(""), 500, 8, 0)

	sleepOrFail(t, c, 3*time.Second)
	ch.stop()
	t.Logf("ClickHouse stopped after %d events accepted", load.acceptedCount())
	sleepOrFail(t, c, 5*time.Second)
	m, _ := c.Metrics()
	c.Kill()
	killedAt := time.Now()
	t.Logf("collector SIGKILLed; spool held %g batches (%g bytes), %g events in memory",
		m["loendur_spool_batches"], m["loendur_spool_bytes"], m["loendur_queue_length"])
	time.Sleep(500 * time.Millisecond) // requests now fail: the load sees connection errors
	load.Stop()
	t.Logf("load: %s", load.summary())
	load.checkAnswers(t)

	ch.start()
	c2 := startCollector(t, ch, spoolDir)
	if !strings.Contains(c2.Log(), "replaying spooled batches") {
		t.Errorf("restarted collector did not log that it replays the spool:\n%s", e2eproc.Tail(c2.Log(), 20))
	}
	r := collect(t, ch, load, c2, 60*time.Second, nil)
	if len(r.missing) > 0 {
		var newest, oldest time.Duration
		for i, k := range r.missing {
			age := killedAt.Sub(r.acceptedAt[k])
			if i == 0 || age < newest {
				newest = age
			}
			oldest = max(oldest, age)
		}
		t.Logf("the %d missing events were answered 202 between %s and %s before the SIGKILL",
			len(r.missing), oldest.Round(time.Millisecond), newest.Round(time.Millisecond))
	}
	// README, "What a power cut can cost": every event answered 202 was in the accept
	// log, so a SIGKILL loses nothing, and the restart stores nothing twice.
	assertExactlyOnce(t, ch, r)
	assertRollupsAgree(t, ch)
}

// 3. ClickHouse killed with SIGKILL in the middle of inserts (big batches), several
// times, then restarted: missing 0 and duplicates 0, and the rollups count what events
// holds. ClickHouse 18.16 has no insert deduplication: an insert that landed while the
// client saw an error must be found stored on replay, not inserted again, and its days'
// rollups rebuilt (the views' parts come after the events part).
func TestClickHouseKilledMidInsert(t *testing.T) {
	t.Parallel()
	ch := newClickHouse(t)
	c := startCollector(t, ch, t.TempDir(), "--batch-size", "100000", "--flush-interval", "2s")
	load := startLoad(t, c.URL(""), 1000, 10, 0)

	// Rounds 1 and 2 kill at a random moment of an insert; round 3 aims at the moment
	// an exactly-once promise is hardest to keep: the events part is committed and the
	// insert has not been answered yet (materialized views still being written).
	const rounds = 3
	for round := range rounds {
		killDuringInsert(t, ch, round+1, round == rounds-1)
		sleepOrFail(t, c, 2*time.Second)
		ch.start()
		if v, ok := c.waitMetric("loendur_spool_batches", 30*time.Second, func(v float64) bool { return v == 0 }); !ok {
			t.Fatalf("round %d: spool still holds %g batches 30 s after ClickHouse returned", round+1, v)
		}
	}
	load.Stop()
	t.Logf("load: %s", load.summary())
	load.checkAnswers(t)
	r := collect(t, ch, load, c, 60*time.Second, nil)
	m, _ := c.Metrics()
	t.Logf("insert errors: %g; stored per the collector: %g", m["loendur_insert_errors_total"], m["loendur_events_stored_total"])
	assertExactlyOnce(t, ch, r)
	assertRollupsAgree(t, ch)
}

// killDuringInsert SIGKILLs ClickHouse while an insert into events runs: at a random
// moment of it, or (targeted) between the commit of its events part and its answer.
func killDuringInsert(t *testing.T, ch *chServer, round int, targeted bool) {
	t.Helper()
	if targeted {
		caught, err := waitForCommittedInsert(ch, 5, 30*time.Second)
		if err != nil {
			t.Fatalf("round %d: watching for an insert: %v", round, err)
		}
		if caught {
			ch.kill()
			t.Logf("round %d: ClickHouse SIGKILLed after an insert's events part was committed, before the insert was answered", round)
			return
		}
		t.Logf("round %d: did not catch an insert between its commit and its answer in 5 inserts; killing at a random moment", round)
	}
	seen, err := waitForInsert(ch, 20*time.Second)
	if err != nil {
		t.Fatalf("round %d: watching for an insert: %v", round, err)
	}
	delay := time.Duration(rand.IntN(40)) * time.Millisecond
	time.Sleep(delay)
	ch.kill()
	t.Logf("round %d: ClickHouse SIGKILLed %s after it listed the insert %q", round, delay, seen)
}

// waitForInsert polls system.processes over one native connection until an INSERT
// into events is running, and returns its text (shortened).
func waitForInsert(ch *chServer, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	s, err := store.Open(ctx, "clickhouse://"+ch.Addr()+"/default", store.Options{})
	if err != nil {
		return "", err
	}
	defer s.Close()
	for {
		var rows []struct {
			Query string `ch:"query"`
		}
		err := s.Select(ctx, &rows, "SELECT query FROM system.processes WHERE query LIKE 'INSERT INTO events%' LIMIT 1")
		if err != nil {
			return "", err
		}
		if len(rows) > 0 {
			q := rows[0].Query
			if len(q) > 40 {
				q = q[:40] + "…"
			}
			return q, nil
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
	}
}

// waitForCommittedInsert polls, over one native connection, for an INSERT into events
// that is still running although the events table already has a part with a newer
// block number than when the insert was first seen: its data is committed, its answer
// not yet sent. It gives up (false) after tries inserts that finished unseen in that state.
func waitForCommittedInsert(ch *chServer, tries int, timeout time.Duration) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	s, err := store.Open(ctx, "clickhouse://"+ch.Addr()+"/default", store.Options{})
	if err != nil {
		return false, err
	}
	defer s.Close()
	const q = "SELECT (SELECT count() FROM system.processes WHERE query LIKE 'INSERT INTO events%') AS running, " +
		"(SELECT max(max_block_number) FROM system.parts WHERE database = '" + database + "' AND table = 'events') AS block"
	seenBlock := int64(-1)
	for missed := 0; missed < tries; {
		var rows []struct {
			Running uint64 `ch:"running"`
			Block   int64  `ch:"block"`
		}
		if err := s.Select(ctx, &rows, q); err != nil {
			return false, err
		}
		if len(rows) != 1 {
			return false, fmt.Errorf("%d rows", len(rows))
		}
		switch r := rows[0]; {
		case r.Running > 0 && seenBlock < 0:
			seenBlock = r.Block
		case r.Running > 0 && r.Block > seenBlock:
			return true, nil
		case r.Running == 0 && seenBlock >= 0:
			seenBlock = -1
			missed++
		}
	}
	return false, nil
}

// 4. SIGTERM under load: every event answered 202 — before the signal and while the
// server shut down — is in ClickHouse when the process has exited, and it exits 0.
func TestSIGTERMUnderLoadFlushes(t *testing.T) {
	t.Parallel()
	ch := newClickHouse(t)
	c := startCollector(t, ch, t.TempDir(), "--flush-interval", "2s")
	load := startLoad(t, c.URL(""), 600, 8, 0)
	sleepOrFail(t, c, 3*time.Second)
	m, _ := c.Metrics()
	code, took := c.Stop()
	load.Stop()
	t.Logf("exit code %d, %s after SIGTERM with %g events queued; load: %s", code, took.Round(time.Millisecond),
		m["loendur_queue_length"], load.summary())
	if code != 0 {
		t.Errorf("exit code %d after SIGTERM under load, want 0", code)
	}
	load.checkAnswers(t)
	// No waiting: whatever was accepted must be in ClickHouse by the time the process is gone.
	r := collect(t, ch, load, nil, 0, nil)
	assertExactlyOnce(t, ch, r)
	if !strings.Contains(c.Log(), "stopped cleanly") {
		t.Errorf("no \"stopped cleanly\" in the log:\n%s", e2eproc.Tail(c.Log(), 20))
	}
}

// 5. A spool segment truncated at a random byte (a torn write): the records before the
// damage are replayed, the damaged tail is quarantined and counted, and exactly the
// events of the damaged records are missing; nothing is stored twice.
func TestTruncatedSpoolSegment(t *testing.T) {
	t.Parallel()
	ch := newClickHouse(t)
	spoolDir := t.TempDir()
	c := startCollector(t, ch, spoolDir, "--flush-interval", "500ms")
	ch.stop()
	load := startLoad(t, c.URL(""), 500, 8, 0)
	sleepOrFail(t, c, 4*time.Second)
	load.Stop()
	t.Logf("load: %s", load.summary())
	load.checkAnswers(t)
	// Everything accepted reaches the spool (fsynced) before the kill, so that the only
	// loss is the damage done below.
	if v, ok := c.waitMetric("loendur_queue_length", 15*time.Second, func(v float64) bool { return v == 0 }); !ok {
		t.Fatalf("%g events still in memory 15 s after the load stopped", v)
	}
	c.Kill()

	// Read every spooled batch from a copy, in replay order.
	batches := readSpoolCopy(t, spoolDir)
	segs, _ := filepath.Glob(filepath.Join(spoolDir, "*.seg"))
	if len(segs) == 0 {
		t.Fatalf("no segment in %s", spoolDir)
	}
	slices.Sort(segs)
	newest := segs[len(segs)-1]
	recs := recordOffsets(t, newest)
	t.Logf("spool: %d segments, %d batches; newest %s holds %d records", len(segs), len(batches), filepath.Base(newest), len(recs))
	if len(recs) < 2 || len(recs) > len(batches) {
		t.Fatalf("newest segment holds %d records of %d batches; want at least 2", len(recs), len(batches))
	}
	inNewest := batches[len(batches)-len(recs):]

	// Cut at a random byte after the first record and not on a record boundary (a cut
	// on a boundary leaves nothing to detect: the file just ends earlier).
	size := recs[len(recs)-1].end
	var cut int64
	for {
		cut = recs[0].end + 1 + rand.Int64N(size-recs[0].end-1)
		if !slices.ContainsFunc(recs, func(r rec) bool { return r.off == cut }) {
			break
		}
	}
	damaged := slices.IndexFunc(recs, func(r rec) bool { return r.off < cut && cut < r.end })
	lost := map[string]bool{}
	for _, b := range inNewest[damaged:] {
		for _, m := range b {
			lost[m] = true
		}
	}
	if err := os.Truncate(newest, cut); err != nil {
		t.Fatal(err)
	}
	t.Logf("truncated %s at byte %d of %d: record %d of %d damaged, %d events in the damaged records",
		filepath.Base(newest), cut, size, damaged+1, len(recs), len(lost))

	ch.start()
	c2 := startCollector(t, ch, spoolDir)
	m, err := c2.Metrics()
	if err != nil {
		t.Fatal(err)
	}
	if got := m["loendur_spool_corrupt_records_total"]; got != 1 {
		t.Errorf("loendur_spool_corrupt_records_total = %g, want 1", got)
	}
	if got, want := m["loendur_spool_quarantined_bytes_total"], float64(cut-recs[damaged].off); got != want {
		t.Errorf("loendur_spool_quarantined_bytes_total = %g, want %g (from the damaged record's start to the cut)", got, want)
	}
	q, _ := os.ReadDir(filepath.Join(spoolDir, "quarantine"))
	if len(q) != 1 {
		t.Errorf("quarantine/ holds %d files, want 1", len(q))
	} else if fi, err := q[0].Info(); err == nil && fi.Size() != cut-recs[damaged].off {
		t.Errorf("quarantine/%s holds %d bytes, want %d", q[0].Name(), fi.Size(), cut-recs[damaged].off)
	}
	if !strings.Contains(c2.Log(), "damaged segment") {
		t.Errorf("no log line about the damaged segment:\n%s", e2eproc.Tail(c2.Log(), 20))
	}

	r := collect(t, ch, load, c2, 60*time.Second, lost)
	missingLost := 0
	var missingOther []string
	for _, k := range r.missing {
		if lost[k] {
			missingLost++
		} else {
			missingOther = append(missingOther, k)
		}
	}
	if len(missingOther) > 0 {
		t.Errorf("%d accepted events are missing that were not in the damaged records (e.g. %v)", len(missingOther), first(missingOther, 10))
	}
	if missingLost != len(lost) {
		t.Errorf("%d of the %d events of the damaged records are stored: quarantined bytes were replayed", len(lost)-missingLost, len(lost))
	}
	if want := r.accepted - len(lost); r.stored != want {
		t.Errorf("stored %d accepted events, want accepted − events in quarantined records = %d − %d = %d", r.stored, r.accepted, len(lost), want)
	}
	assertNoDuplicates(t, ch, r)
	if len(r.refusedStored) > 0 {
		t.Errorf("%d refused events are stored (e.g. %v)", len(r.refusedStored), first(r.refusedStored, 10))
	}
}

// rec is one record's place in a segment file.
type rec struct{ off, end int64 }

// recordOffsets walks the record headers of a segment (magic, payload length, …; see
// internal/spool/record.go) and returns where each record starts and ends.
func recordOffsets(t *testing.T, path string) []rec {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []rec
	for off := int64(0); off < int64(len(b)); {
		if int64(len(b))-off < 16 || string(b[off:off+4]) != "\xd5LSR" {
			t.Fatalf("%s: no record header at byte %d", path, off)
		}
		end := off + 16 + int64(binary.LittleEndian.Uint32(b[off+4:]))
		out = append(out, rec{off, end})
		off = end
	}
	return out
}

// readSpoolCopy copies the spool's segments and ack files to a new folder, opens the
// copy with the spool package and returns the markers of each waiting batch, oldest
// first (the order of the records in the segment files).
func readSpoolCopy(t *testing.T, dir string) [][]string {
	t.Helper()
	cp := t.TempDir()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if ext := filepath.Ext(e.Name()); e.Type().IsRegular() && (ext == ".seg" || ext == ".ack") {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(cp, e.Name()), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	sp, err := spool.Open(spool.Options{Dir: cp, MaxBytes: 1 << 40})
	if err != nil {
		t.Fatalf("open a copy of the spool: %v", err)
	}
	defer sp.Close()
	var out [][]string
	for {
		b, ok, err := sp.Oldest()
		if err != nil {
			t.Fatalf("read the spool copy: %v", err)
		}
		if !ok {
			return out
		}
		var markers []string
		for _, ev := range b.Events {
			if i := slices.Index(ev.PropKeys, "n"); i >= 0 {
				markers = append(markers, ev.PropValues[i])
			}
			// The spool holds what ClickHouse would: the address cut to /16.
			if !strings.HasSuffix(ev.IP, ".0.0") {
				t.Errorf("spooled event %s holds the address %q, want it truncated to /16", ev.EventID, ev.IP)
			}
		}
		out = append(out, markers)
		if err := sp.Ack(b.ID); err != nil {
			t.Fatalf("ack in the spool copy: %v", err)
		}
	}
}

// 6. Spool full: with a small --spool-max and ClickHouse down, the spool fills, the
// writer holds the next batch, the queue fills and the beacon answers 503 queue_full;
// a log line and a metric say the spool is full; everything answered 202 is stored
// once ClickHouse returns, and 202s resume.
func TestSpoolFull(t *testing.T) {
	t.Parallel()
	ch := newClickHouse(t)
	c := startCollector(t, ch, t.TempDir(), "--spool-max", "1048576", "--batch-size", "100",
		"--flush-interval", "200ms", "--queue-size", "1500")
	ch.stop()
	// 250 random hex digits per event (S2 hardly compresses them) fill 1 MiB in a few seconds.
	load := startLoad(t, c.URL(""), 800, 8, 250)

	deadline := time.Now().Add(60 * time.Second)
	for load.count("503 queue_full") == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no 503 queue_full within 60 s of load with ClickHouse down and --spool-max 1 MiB; load: %s", load.summary())
		}
		sleepOrFail(t, c, 200*time.Millisecond)
	}
	t.Logf("first 503 after %d events accepted", load.acceptedCount())
	sleepOrFail(t, c, 3*time.Second)
	m, _ := c.Metrics()
	if m["loendur_spool_full_total"] == 0 {
		t.Errorf("loendur_spool_full_total = 0 while the beacon answers 503")
	}
	if m[e2eproc.Rejected("queue_full")] == 0 {
		t.Errorf(`loendur_events_rejected_total{reason="queue_full"} = 0 while the beacon answers 503`)
	}
	if m["loendur_spool_bytes"] > 1<<20 {
		t.Errorf("loendur_spool_bytes = %g, past --spool-max 1048576", m["loendur_spool_bytes"])
	}
	if !strings.Contains(c.Log(), "spool full") {
		t.Errorf("no log line says the spool is full")
	}
	t.Logf("spool %g bytes in %g batches, %g events in memory; load: %s", m["loendur_spool_bytes"], m["loendur_spool_batches"],
		m["loendur_queue_length"], load.summary())

	ch.start()
	back := time.Now()
	deadline = back.Add(60 * time.Second)
	for {
		load.mu.Lock()
		resumed := load.last202.After(back.Add(time.Second))
		load.mu.Unlock()
		if resumed {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("no 202 within 60 s of ClickHouse returning; load: %s", load.summary())
			break
		}
		sleepOrFail(t, c, 200*time.Millisecond)
	}
	t.Logf("202s resumed %s after ClickHouse returned", time.Since(back).Round(time.Millisecond))
	sleepOrFail(t, c, 3*time.Second)
	load.Stop()
	t.Logf("load: %s", load.summary())
	load.checkAnswers(t)
	r := collect(t, ch, load, c, 60*time.Second, nil)
	assertExactlyOnce(t, ch, r)
}
