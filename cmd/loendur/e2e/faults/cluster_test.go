package faults

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/websystems/loendur/internal/testenv"
	"github.com/websystems/loendur/internal/testenv/chcluster"
)

// clusterDB is a database of its own on the running local cluster (2 shards × 2
// replicas, `make cluster-start`), as the collectors see it: every server in --db and
// --cluster.
type clusterDB struct {
	c    chcluster.Cluster
	name string
}

func (d clusterDB) dbArgs() []string {
	return []string{"--db", d.c.DSN(d.name), "--cluster", chcluster.Name}
}

// query asks the first server that answers, through the Distributed tables (the harness
// passes its single server's database name, which the cluster's replaces).
func (d clusterDB) query(_, q string) (string, error) {
	var err error
	for _, n := range d.c.Nodes() {
		var out string
		if out, err = n.Query(d.name, q); err == nil {
			return out, nil
		}
	}
	return "", err
}

// newClusterDB names a fresh database on the local cluster, dropped on every server
// when the test ends.
func newClusterDB(t *testing.T) clusterDB {
	t.Helper()
	needFaultTools(t)
	c := chcluster.Cluster{Dir: testenv.ClusterDir(t)}
	release, err := c.Use(true) // alone: the drills stop and kill members
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	if !c.Running() {
		t.Fatalf("the local cluster in %s is not running (make cluster-start)", c.Dir)
	}
	d := clusterDB{c: c, name: fmt.Sprintf("loendur_drill_%d", rand.Uint32())}
	// The database is not dropped: after the drills it holds thousands of replicated
	// blocks, and its DROP … ON CLUSTER takes minutes in 18.16's DDL queue, in front of
	// every other cluster test's DDL. The cluster is throwaway (`make test` removes its
	// folder after stopping it).
	t.Cleanup(func() { c.Start() }) // a failed drill may have left a member down
	return d
}

// The cluster's fault drills, one after another under one steady load through two
// collectors (the drills stop servers every other test on the cluster would feel, so
// they run in this one test): after each, every event answered 202 so far is stored
// exactly once (0 missing, 0 duplicated), counted through the Distributed table.
//
//  1. two collectors, nothing broken;
//  2. the server both collectors are connected to (shard 1, replica 1) SIGKILLed,
//     restarted 5 s later: it catches up from its replica;
//  3. ZooKeeper stopped for 30 s: inserts fail ("readonly"), batches spool, replay after;
//  4. a whole shard (both replicas) down for 30 s: inserts fail, spool, replay;
//  5. a collector SIGKILLed and restarted on its spool and accept log.
//
// At the end the two replicas of each shard hold the same rows, the shards' rows add up
// to the Distributed count, and the rollups agree with the events.
func TestClusterDrills(t *testing.T) {
	d := newClusterDB(t)
	began := time.Now()
	nodes := d.c.Nodes()
	spool2 := t.TempDir()
	c1 := startCollector(t, d, t.TempDir())
	c2 := startCollector(t, d, spool2)
	load := startLoad(t, c1.URL(""), 150, 4, 0)
	load.setTarget(c1.URL(""), c2.URL(""))

	check := func(drill string) {
		t.Helper()
		r := collect(t, d, load, nil, 120*time.Second, nil)
		t.Logf("%s: %s (%s since the start)", drill, load.summary(), time.Since(began).Round(time.Second))
		assertExactlyOnce(t, d, r)
		if t.Failed() {
			t.FailNow()
		}
	}
	sleepOrFail(t, c1, 5*time.Second)
	check("two collectors")

	d.c.KillNode(nodes[0])
	t.Logf("server 1 (shard 1, replica 1; the collectors' connection) SIGKILLed")
	sleepOrFail(t, c1, 5*time.Second)
	if err := d.c.StartNode(nodes[0]); err != nil {
		t.Fatal(err)
	}
	sleepOrFail(t, c1, 3*time.Second)
	check("replica SIGKILLed and restarted")

	d.c.StopZooKeeper()
	t.Logf("ZooKeeper stopped")
	sleepOrFail(t, c1, 30*time.Second)
	if err := d.c.StartZooKeeper(); err != nil {
		t.Fatal(err)
	}
	check("ZooKeeper down 30 s")

	d.c.StopNode(nodes[2])
	d.c.StopNode(nodes[3])
	t.Logf("shard 2 (servers 3 and 4) stopped")
	sleepOrFail(t, c1, 30*time.Second)
	for _, n := range nodes[2:] {
		if err := d.c.StartNode(n); err != nil {
			t.Fatal(err)
		}
	}
	check("shard 2 down 30 s")

	c2.Kill()
	load.setTarget(c1.URL(""))
	t.Logf("collector 2 SIGKILLed")
	logs := []string{c2.Log()}
	c2 = startCollector(t, d, spool2)
	load.setTarget(c1.URL(""), c2.URL(""))
	sleepOrFail(t, c1, 3*time.Second)
	check("collector SIGKILLed and restarted")

	load.Stop()
	load.checkAnswers(t)
	r := collect(t, d, load, c1, 120*time.Second, nil)
	assertExactlyOnce(t, d, r)
	assertRollupsAgree(t, d)
	assertShardsAgree(t, d, uint64(r.rows))
	// How often a replay found its batch stored (partly, on some shard) already, so that
	// its days were rebuilt: a failure above is then easier to place.
	var found, rebuilt int
	for _, l := range append(logs, c1.Log(), c2.Log()) {
		found += strings.Count(l, "spooled batch was stored already")
		rebuilt += strings.Count(l, "computed again from events")
	}
	t.Logf("replayed batches found stored already: %d; rebuilds of their days: %d", found, rebuilt)
	t.Logf("drills took %s", time.Since(began).Round(time.Second))
}

// assertShardsAgree fails the test unless both replicas of each shard hold the same
// events (waiting for replication to catch up) and the shards hold want together.
func assertShardsAgree(t *testing.T, d clusterDB, want uint64) {
	t.Helper()
	var total uint64
	for shard := 1; shard <= chcluster.Shards; shard++ {
		var counts []string
		for range 600 {
			counts = counts[:0]
			for _, n := range d.c.Nodes() {
				if n.Shard != shard {
					continue
				}
				out, err := n.Query(d.name, "SELECT count() FROM events_local WHERE has(prop_keys, 'n')")
				if err != nil {
					out = err.Error()
				}
				counts = append(counts, strings.TrimSpace(out))
			}
			if counts[0] == counts[1] {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if counts[0] != counts[1] {
			t.Errorf("the replicas of shard %d hold %v events", shard, counts)
			continue
		}
		n, _ := strconv.ParseUint(counts[0], 10, 64)
		if n == 0 {
			t.Errorf("shard %d holds no events", shard)
		}
		total += n
	}
	if total != want {
		t.Errorf("the shards hold %d events together, the Distributed table %d", total, want)
	}
}
