// Command loadgen is loendur's load generator and the driver of `make bench`.
//
//	loadgen bench [flags]   start the bare Fiber server and the collector on each engine in
//	                        turn, load each one, wait until every accepted event is stored,
//	                        verify the count, and print the results
//	loadgen load -url URL   load one running server and print what it answered
//	loadgen count -db DSN   print SELECT count() FROM events of a database (chdb:// or
//	                        clickhouse://), e.g. an embedded folder after the collector stopped
//
// Every request is a realistic beacon: pageviews, engagement and custom events with
// props over a thousand pages, referrers from search, social and other sites, twenty
// real browser user agents, and X-Forwarded-For addresses over thousands of /16s.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/websystems/loendur/internal/store"
)

const usage = `usage:
  loadgen bench [flags]         the whole benchmark (see loadgen bench -help)
  loadgen load -url URL [flags] load one running server
  loadgen count -db DSN         count the events of a database
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "bench":
		err = cmdBench(os.Args[2:])
	case "load":
		err = cmdLoad(os.Args[2:])
	case "count":
		err = cmdCount(os.Args[2:])
	default:
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// loadFlags are the knobs shared by bench and load.
type loadFlags struct {
	duration  time.Duration
	max       int64
	conns     int
	procs     int
	site      string
	visitors  uint
	templates int
	seed      uint64
}

func (f *loadFlags) register(fs *flag.FlagSet) {
	fs.DurationVar(&f.duration, "duration", 20*time.Second, "how long each load runs at most")
	fs.Int64Var(&f.max, "max", 5_000_000, "how many requests each load sends at most")
	fs.IntVar(&f.conns, "conns", 16, "concurrent keep-alive connections (one closed-loop worker each)")
	fs.IntVar(&f.procs, "procs", 1, "GOMAXPROCS of the load generator (the server under test gets the rest of the CPU)")
	fs.StringVar(&f.site, "site", "bench.test", "site domain in the events (must be registered with the collector)")
	fs.UintVar(&f.visitors, "visitors", 200_000, "distinct visitors (address and user agent pairs)")
	fs.IntVar(&f.templates, "templates", 4096, "distinct event bodies per device class")
	fs.Uint64Var(&f.seed, "seed", 1, "random seed of the event pool and the workers' choices")
}

// apply sets up the load generator process and builds the workload.
func (f *loadFlags) apply() (*workload, error) {
	if f.conns < 1 || f.max < 1 || f.duration <= 0 || f.visitors < 1 || f.templates < 1 {
		return nil, fmt.Errorf("-conns, -max, -duration, -visitors and -templates must be positive")
	}
	if f.procs > 0 {
		runtime.GOMAXPROCS(f.procs)
	}
	// The generator allocates next to nothing per request; a lazy GC keeps its share of
	// the CPU for sending.
	debug.SetGCPercent(400)
	w, err := newWorkload(f.site, f.templates, uint32(f.visitors), f.seed)
	if err != nil {
		return nil, err
	}
	return w, w.checkVisitors()
}

func (f *loadFlags) config(url string, w *workload) loadConfig {
	return loadConfig{URL: url, Duration: f.duration, Max: f.max, Conns: f.conns, Work: w, Seed: f.seed}
}

func cmdLoad(args []string) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	var lf loadFlags
	lf.register(fs)
	url := fs.String("url", "http://127.0.0.1:8080/api/event", "beacon endpoint")
	rate := fs.Float64("rate", 0, "requests per second on a fixed schedule (open loop, latency from each request's due time); 0: closed loop")
	if err := fs.Parse(args); err != nil {
		return err
	}
	w, err := lf.apply()
	if err != nil {
		return err
	}
	lc := lf.config(*url, w)
	lc.Rate = *rate
	res, err := runLoad(lc)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%d requests in %.2fs: %.0f/s answered, %.0f/s accepted (202), p50 %v p99 %v p99.9 %v max %v, status %v, errors %d %s\n",
		res.Sent, res.Elapsed().Seconds(), res.PerSecond(res.Sent-res.Errors), res.PerSecond(res.Accepted),
		res.P50, res.P99, res.P999, res.Max, res.Status, res.Errors, res.FirstErr)
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

func cmdCount(args []string) error {
	fs := flag.NewFlagSet("count", flag.ContinueOnError)
	dsn := fs.String("db", "", "chdb://DIR or clickhouse://HOST:PORT/DATABASE")
	if err := fs.Parse(args); err != nil {
		return err
	}
	n, _, err := countEvents(context.Background(), *dsn)
	if err != nil {
		return err
	}
	fmt.Println(n)
	return nil
}

// countEvents opens dsn, counts its events and closes it again.
func countEvents(ctx context.Context, dsn string) (uint64, store.Info, error) {
	n, _, info, err := inspectEvents(ctx, dsn)
	return n, info, err
}

// variety is how varied the stored events are: proof that the benchmark wrote
// realistic rows (many visitors, places, pages, sources, browsers), not one row repeated.
type variety struct {
	Visitors  uint64 `ch:"visitors"`
	Sessions  uint64 `ch:"sessions"`
	Countries uint64 `ch:"countries"`
	Cities    uint64 `ch:"cities"`
	Paths     uint64 `ch:"paths"`
	Sources   uint64 `ch:"sources"`
	Browsers  uint64 `ch:"browsers"`
	Devices   uint64 `ch:"devices"`
	Networks  uint64 `ch:"networks"` // distinct stored (truncated) addresses
	Names     uint64 `ch:"names"`
}

// inspectEvents opens dsn, counts its events, measures their variety and closes it.
func inspectEvents(ctx context.Context, dsn string) (uint64, variety, store.Info, error) {
	db, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		return 0, variety{}, store.Info{}, err
	}
	defer db.Close()
	n, err := selectCount(ctx, db)
	if err != nil {
		return 0, variety{}, db.Info(), err
	}
	var rows []variety
	err = db.Select(ctx, &rows, `SELECT uniqExact(visitor_id) AS visitors, uniqExact(session_id) AS sessions,
		uniqExact(country_code) AS countries, uniqExact(city) AS cities, uniqExact(pathname) AS paths,
		uniqExact(referrer_source) AS sources, uniqExact(browser) AS browsers, uniqExact(device) AS devices,
		uniqExact(ip) AS networks, uniqExact(name) AS names FROM events`)
	if err != nil || len(rows) != 1 {
		return n, variety{}, db.Info(), fmt.Errorf("variety of stored events: %v", err)
	}
	return n, rows[0], db.Info(), nil
}

func selectCount(ctx context.Context, db store.Store) (uint64, error) {
	var rows []struct {
		N uint64 `ch:"n"`
	}
	if err := db.Select(ctx, &rows, "SELECT count() AS n FROM events"); err != nil {
		return 0, err
	}
	if len(rows) != 1 {
		return 0, fmt.Errorf("count: %d rows", len(rows))
	}
	return rows[0].N, nil
}
