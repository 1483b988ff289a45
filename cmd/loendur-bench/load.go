package main

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// loadConfig is one run of the load generator against one server.
type loadConfig struct {
	URL      string        // e.g. http://127.0.0.1:18181/api/event
	Duration time.Duration // stop sending after this long
	Max      int64         // or after this many requests, whichever comes first
	Conns    int           // concurrent keep-alive connections, one worker each
	Work     *workload
	Seed     uint64
	// Rate > 0 makes the load open-loop: requests are due on a fixed schedule, Rate a
	// second, whatever the server answers, and each one's latency runs from the moment
	// it was due (see runLoad). 0: closed loop.
	Rate float64
}

// loadResult is what the load generator saw.
type loadResult struct {
	Sent     int64         `json:"sent"`
	Accepted int64         `json:"accepted"` // answered 202
	Status   map[int]int64 `json:"status"`   // every answer by status code
	Errors   int64         `json:"errors"`   // transport errors (no answer)
	FirstErr string        `json:"first_error,omitempty"`
	Start    time.Time     `json:"start"` // first request sent
	End      time.Time     `json:"end"`   // last answer received
	P50      time.Duration `json:"p50"`
	P90      time.Duration `json:"p90"`
	P99      time.Duration `json:"p99"`
	P999     time.Duration `json:"p999"`
	Max      time.Duration `json:"max"`
	// Open loop only: the rate asked for, and how late the 99th percentile request
	// left the generator (waiting for a free connection, or the generator itself
	// behind); that wait is part of its latency.
	Rate   float64       `json:"rate,omitempty"`
	LagP99 time.Duration `json:"lag_p99,omitempty"`
	// Requests that left over lateAfter after they were due, by cause: every connection
	// was busy when the request was taken up (the server is behind), or the generator
	// slept until the due time and woke late (the generator did not get a CPU).
	LateBusy int64 `json:"late_busy,omitempty"`
	LateWoke int64 `json:"late_woke,omitempty"`
}

// lateAfter is where a request counts as sent late in LateBusy and LateWoke.
const lateAfter = 5 * time.Millisecond

// Elapsed is the sending window: first request to last answer.
func (r loadResult) Elapsed() time.Duration { return r.End.Sub(r.Start) }

// PerSecond is the rate of n over the sending window.
func (r loadResult) PerSecond(n int64) float64 { return float64(n) / r.Elapsed().Seconds() }

// workerStats are one worker's counts, merged at the end (no sharing while running).
type workerStats struct {
	status    map[int]int64
	errors    int64
	firstErr  error
	latencies []uint32 // microseconds, one per answered request
	lags      []uint32 // open loop: microseconds from due to sent, one per request sent
	lateBusy  int64
	lateWoke  int64
	last      time.Time
}

// runLoad drives cfg.URL with cfg.Conns workers, each on its own keep-alive connection.
//
// Closed loop (Rate 0): each worker sends, waits for the answer, sends the next. Latency
// is measured per request from just before the write to the parsed answer.
//
// Open loop (Rate > 0): request i is due at start + i/Rate. A worker takes the next
// request number, sleeps until it is due (or sends at once if it is overdue) and
// measures its latency from when it was due, not from when it went out. A server that
// stalls for 20 ms therefore shows every request due in those 20 ms as late, as a
// browser would see it, instead of the generator quietly sending fewer requests
// (coordinated omission). Cfg.Conns must cover the rate times the normal latency with
// room to spare; when every connection is busy, due requests wait, and the wait counts.
func runLoad(cfg loadConfig) (loadResult, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Host == "" {
		return loadResult{}, fmt.Errorf("load: bad url %q", cfg.URL)
	}
	client := &fasthttp.HostClient{
		Addr:                          u.Host,
		MaxConns:                      cfg.Conns,
		ReadTimeout:                   10 * time.Second,
		WriteTimeout:                  10 * time.Second,
		MaxIdleConnDuration:           time.Minute,
		NoDefaultUserAgentHeader:      true,
		DisableHeaderNamesNormalizing: true,
		MaxConnWaitTimeout:            10 * time.Second,
	}
	defer client.CloseIdleConnections()

	var issued atomic.Int64
	stats := make([]workerStats, cfg.Conns)
	perWorker := int(min(cfg.Max/int64(cfg.Conns)+1, 1<<20))
	if cfg.Rate > 0 {
		perWorker = int(min(float64(perWorker), cfg.Rate*cfg.Duration.Seconds()/float64(cfg.Conns)*1.2+16))
	}
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	var wg sync.WaitGroup
	for i := range cfg.Conns {
		stats[i] = workerStats{status: map[int]int64{}, latencies: make([]uint32, 0, perWorker)}
		if cfg.Rate > 0 {
			stats[i].lags = make([]uint32, 0, perWorker)
		}
		wg.Add(1)
		go func(st *workerStats, seed uint64) {
			defer wg.Done()
			work(client, cfg, st, &issued, start, deadline, seed)
		}(&stats[i], cfg.Seed+uint64(i)*1_000_003)
	}
	wg.Wait()

	res := loadResult{Status: map[int]int64{}, Start: start, Rate: cfg.Rate}
	var all, lags []uint32
	for i := range stats {
		st := &stats[i]
		for code, n := range st.status {
			res.Status[code] += n
			res.Sent += n
		}
		res.Sent += st.errors
		res.Errors += st.errors
		res.LateBusy += st.lateBusy
		res.LateWoke += st.lateWoke
		if st.firstErr != nil && res.FirstErr == "" {
			res.FirstErr = st.firstErr.Error()
		}
		if st.last.After(res.End) {
			res.End = st.last
		}
		all = append(all, st.latencies...)
		lags = append(lags, st.lags...)
	}
	res.Accepted = res.Status[fasthttp.StatusAccepted]
	if len(all) > 0 {
		slices.Sort(all)
		res.P50, res.P90, res.P99, res.P999 = quantile(all, 0.50), quantile(all, 0.90), quantile(all, 0.99), quantile(all, 0.999)
		res.Max = time.Duration(all[len(all)-1]) * time.Microsecond
	}
	if len(lags) > 0 {
		slices.Sort(lags)
		res.LagP99 = quantile(lags, 0.99)
	}
	if res.End.IsZero() {
		res.End = time.Now()
	}
	return res, nil
}

// quantile of sorted microsecond samples.
func quantile(sorted []uint32, p float64) time.Duration {
	return time.Duration(sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]) * time.Microsecond
}

func work(client *fasthttp.HostClient, cfg loadConfig, st *workerStats, issued *atomic.Int64, start, deadline time.Time, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, seed*31+7))
	w := cfg.Work
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	var xffBuf []byte
	var interval float64 // open loop: nanoseconds between due times
	if cfg.Rate > 0 {
		interval = 1e9 / cfg.Rate
	}
	for {
		n := issued.Add(1)
		if n > cfg.Max {
			return
		}
		var due time.Time
		if interval > 0 {
			due = start.Add(time.Duration(float64(n-1) * interval))
			if !due.Before(deadline) {
				return
			}
		}
		v := rng.Uint32N(w.visitors)
		b, xff := w.visitor(v, xffBuf[:0])
		xffBuf = xff
		pool := w.desktop
		if b.mobile {
			pool = w.mobile
		}
		t := &pool[rng.IntN(len(pool))]

		req.Reset()
		req.SetRequestURI(cfg.URL)
		req.Header.SetMethod(fasthttp.MethodPost)
		req.Header.SetContentType(t.contentType)
		req.Header.SetUserAgent(b.ua)
		req.Header.Set("Accept", "*/*")
		req.Header.Set("Accept-Language", languages[v%uint32(len(languages))])
		req.Header.Set("Accept-Encoding", "gzip, deflate, br, zstd")
		req.Header.Set("Origin", w.origin)
		req.Header.Set("Referer", t.page)
		req.Header.SetBytesV("X-Forwarded-For", xff)
		req.SetBodyRaw(t.body)

		slept := false
		if interval > 0 {
			if wait := time.Until(due); wait > 0 {
				time.Sleep(wait)
				slept = true
			}
		}
		sent := time.Now()
		if interval == 0 {
			if !sent.Before(deadline) {
				return
			}
			due = sent
		} else {
			lag := sent.Sub(due)
			st.lags = append(st.lags, uint32(lag/time.Microsecond))
			switch {
			case lag <= lateAfter:
			case slept:
				st.lateWoke++
			default:
				st.lateBusy++
			}
		}
		err := client.Do(req, resp)
		done := time.Now()
		if err != nil {
			st.errors++
			if st.firstErr == nil {
				st.firstErr = err
			}
			st.last = done
			continue
		}
		st.status[resp.StatusCode()]++
		st.latencies = append(st.latencies, uint32(done.Sub(due)/time.Microsecond))
		st.last = done
	}
}
