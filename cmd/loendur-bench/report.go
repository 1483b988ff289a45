package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/websystems/loendur/collector"
)

// Targets of issues 6 and 18.
const (
	targetP99      = 10 * time.Millisecond // closed loop, 16 connections (issue 6)
	targetAnonRSS  = 256 << 20             // anonymous resident memory at peak
	targetInserts  = 5.0                   // "a few inserts per second"
	targetOpenP99  = 5 * time.Millisecond  // open loop at half of bare Fiber's rate
	targetOpenP999 = 20 * time.Millisecond
	targetSatRatio = 4.0 // p99 with -sat-conns connections, against bare Fiber's
)

// targetRatio is the stored ÷ bare Fiber target: the server engine leaves ClickHouse's
// work to another process, the embedded engine does it in the collector's.
func targetRatio(engine string) float64 {
	if engine == "chdb" {
		return 0.5
	}
	return 0.6
}

// targetCPU bounds the serving process's CPU per stored event, as a multiple of bare
// Fiber's CPU per request in the same run (the embedded engine's work included).
func targetCPU(engine string) float64 {
	if engine == "chdb" {
		return 2.5
	}
	return 1.4
}

// printRun is the one-line progress note after each run.
func printRun(w io.Writer, r run) {
	if r.Engine == "" {
		fmt.Fprintf(w, "bench: %s: %s answered/s, p50 %s, p99 %s, status %v, errors %d %s\n",
			r.Name, num(r.Load.PerSecond(r.Load.Sent-r.Load.Errors)), ms(r.Load.P50), ms(r.Load.P99), r.Load.Status, r.Load.Errors, r.Load.FirstErr)
		return
	}
	fmt.Fprintf(w, "bench: %s %s: %s accepted/s, %s stored/s end to end, p99 %s, %.1f µs CPU per event, peak RSS %s (anonymous %s), %.0f inserts, stored %d of %d accepted in every run, status %v, errors %d %s\n",
		r.Name, r.Version, num(r.Load.PerSecond(r.Load.Accepted)), num(r.storedPerSecond()), ms(r.Load.P99), 1e6*r.CPU.ServerSec/r.events(),
		mb(r.RSS.HWM), mb(r.RSS.Anon), r.Inserts, r.Stored, r.accepted(), r.Load.Status, r.Load.Errors, r.Load.FirstErr)
}

// storedPerSecond is the first run's accepted events (each one verified stored at the
// end) over the time until the last of them was visible.
func (r run) storedPerSecond() float64 {
	if r.Visible <= 0 {
		return 0
	}
	return float64(r.Load.Accepted) / r.Visible.Seconds()
}

// renderReport is the result table in Markdown (readable as plain text too).
func renderReport(cfg benchConfig, runs []run) string {
	var b strings.Builder
	// Each engine is compared with the mean of the bare runs just before and just after
	// it, so that the machine's drift during the engine's run weighs on both sides.
	bareRate, bareCost, bareServerCPU := map[int]float64{}, map[int]float64{}, map[int]float64{}
	bareSat := map[int]loadResult{} // the saturated run of the bare server before each engine
	for i, r := range runs {
		if r.Engine == "" {
			continue
		}
		n := 0.0
		for _, j := range []int{i - 1, i + 1} {
			if j >= 0 && j < len(runs) && runs[j].Engine == "" {
				bareRate[i] += runs[j].Load.PerSecond(runs[j].Load.Sent - runs[j].Load.Errors)
				bareCost[i] += runs[j].cost()
				bareServerCPU[i] += runs[j].CPU.ServerSec / runs[j].events()
				n++
			}
		}
		if n > 0 {
			bareRate[i], bareCost[i], bareServerCPU[i] = bareRate[i]/n, bareCost[i]/n, bareServerCPU[i]/n
		}
		if i > 0 && runs[i-1].Engine == "" {
			bareSat[i] = runs[i-1].Sat
		}
	}
	fmt.Fprintf(&b, "\n%s\n\n%d CPUs; load generator GOMAXPROCS=%d, %d keep-alive connections, at most %v (bare Fiber %v) or %s requests per run; "+
		"collector --queue-size %d --batch-size %s --flush-interval %v --accept-log-sync %v --rate-limit -1%s\n\n",
		machine(), cpus(), cfg.load.procs, cfg.load.conns, cfg.load.duration, cfg.bareDuration, num(float64(cfg.load.max)),
		cfg.queueSize, batchSizeText(cfg.batchSize), cfg.flushInterval, cfg.acceptSync, map[bool]string{true: " --geoip (generated City database)", false: ""}[cfg.geo])
	fmt.Fprintf(&b, "Then, on the bare server before each engine and on the engine: an open loop at %.0f%% of that bare run's rate for %v "+
		"(requests due on a fixed schedule over up to %d connections, latency from each request's due time), and %v with %d connections, saturated.\n\n",
		100*cfg.openShare, cfg.openDuration, cfg.openConns, cfg.satDuration, cfg.satConns)

	head := []string{""}
	for _, r := range runs {
		head = append(head, strings.TrimSpace(r.Name+" "+r.Version))
	}
	col := 0 // the run being rendered, for its bare yardstick
	row := func(name string, f func(r run) string) []string {
		out := []string{name}
		for i, r := range runs {
			col = i
			out = append(out, f(r))
		}
		return out
	}
	only := func(f func(r run) string) func(r run) string {
		return func(r run) string {
			if r.Engine == "" {
				return "–"
			}
			return f(r)
		}
	}
	rows := [][]string{
		row("requests sent", func(r run) string {
			return fmt.Sprintf("%s in %.1f s", num(float64(r.Load.Sent)), r.Load.Elapsed().Seconds())
		}),
		row("answered requests/s", func(r run) string { return num(r.Load.PerSecond(r.Load.Sent - r.Load.Errors)) }),
		row("accepted events/s (202)", only(func(r run) string { return num(r.Load.PerSecond(r.Load.Accepted)) })),
		row("**stored events/s, end to end**", only(func(r run) string { return "**" + num(r.storedPerSecond()) + "**" })),
		row("stored ÷ bare, the mean of the runs before and after (target ≥ 0.6 server, ≥ 0.5 embedded)", only(func(r run) string {
			bare := bareRate[col]
			return verdict(ratio(r.storedPerSecond()/bare), r.storedPerSecond() >= targetRatio(r.Engine)*bare)
		})),
		row("**CPU per event of the serving process ÷ bare's per request** (target ≤ 1.4 server, ≤ 2.5 embedded)", only(func(r run) string {
			x := r.CPU.ServerSec / r.events() / bareServerCPU[col]
			return verdict(fmt.Sprintf("**%.2f**", x), x <= targetCPU(r.Engine))
		})),
		row("last row visible after", only(func(r run) string {
			return fmt.Sprintf("%.2f s (%.2f s after the load)", r.Visible.Seconds(), (r.Visible - r.Load.Elapsed()).Seconds())
		})),
		row("latency p50 / p90", func(r run) string { return ms(r.Load.P50) + " / " + ms(r.Load.P90) }),
		row("latency p99 (target < 10 ms)", func(r run) string {
			if r.Engine == "" {
				return ms(r.Load.P99)
			}
			return verdict(ms(r.Load.P99), r.Load.P99 < targetP99)
		}),
		row("latency p99.9 / max", func(r run) string { return ms(r.Load.P999) + " / " + ms(r.Load.Max) }),
		row("open loop: requests/s due / answered", func(r run) string {
			if r.Open.Sent == 0 {
				return "–"
			}
			return num(r.Open.Rate) + " / " + num(r.Open.PerSecond(r.Open.Sent-r.Open.Errors))
		}),
		row("**open loop: p50 / p99** (target p99 < 5 ms)", func(r run) string {
			if r.Open.Sent == 0 {
				return "–"
			}
			s := ms(r.Open.P50) + " / **" + ms(r.Open.P99) + "**"
			if r.Engine == "" {
				return s
			}
			return verdict(s, r.Open.P99 < targetOpenP99)
		}),
		row("**open loop: p99.9** (target < 20 ms) / max; sent late, p99", func(r run) string {
			if r.Open.Sent == 0 {
				return "–"
			}
			s := "**" + ms(r.Open.P999) + "**"
			if r.Engine != "" {
				s = verdict(s, r.Open.P999 < targetOpenP999)
			}
			return s + " / " + ms(r.Open.Max) + "; " + ms(r.Open.LagP99)
		}),
		row(fmt.Sprintf("open loop: requests sent over %v late because every connection was busy / because the generator woke late", lateAfter), func(r run) string {
			if r.Open.Sent == 0 {
				return "–"
			}
			return percentOf(r.Open.LateBusy, r.Open.Sent) + " / " + percentOf(r.Open.LateWoke, r.Open.Sent)
		}),
		row(fmt.Sprintf("%d connections, saturated: answered/s", cfg.satConns), func(r run) string {
			if r.Sat.Sent == 0 {
				return "–"
			}
			return num(r.Sat.PerSecond(r.Sat.Sent - r.Sat.Errors))
		}),
		row(fmt.Sprintf("**%d connections: p99** (target ≤ 4 × bare's) / p99.9 / max", cfg.satConns), func(r run) string {
			if r.Sat.Sent == 0 {
				return "–"
			}
			s := "**" + ms(r.Sat.P99) + "**"
			if bare := bareSat[col]; r.Engine != "" && bare.Sent > 0 && bare.P99 > 0 {
				x := float64(r.Sat.P99) / float64(bare.P99)
				s = verdict(fmt.Sprintf("%s (%.1f ×)", s, x), x <= targetSatRatio)
			}
			return s + " / " + ms(r.Sat.P999) + " / " + ms(r.Sat.Max)
		}),
		row("peak RSS, VmHWM", func(r run) string { return mb(r.RSS.HWM) }),
		row("**peak RSS anonymous** (target < 256 MB) / file-backed", func(r run) string {
			s := "**" + mb(r.RSS.Anon) + "**"
			if r.Engine != "" {
				s = verdict(s, r.RSS.Anon < targetAnonRSS)
			}
			return s + " / " + mb(r.RSS.File)
		}),
		row("RSS when ready, before the load", func(r run) string { return mb(r.IdleRSS) }),
		row("inserts/s (target: a few)", only(func(r run) string {
			ps := r.Inserts / r.Visible.Seconds()
			return verdict(fmt.Sprintf("%.1f (%.0f inserts)", ps, r.Inserts), ps <= targetInserts)
		})),
		row("rows per insert, mean insert time", only(func(r run) string {
			if r.Inserts == 0 {
				return "–"
			}
			return fmt.Sprintf("%s, %.0f ms (slowest ≤ %g s)", num(float64(r.Stored)/r.Inserts), 1000*r.FlushSum/r.Inserts, r.FlushMax)
		})),
		row("Go allocations per event (objects, bytes); GCs", only(func(r run) string {
			n := r.events()
			return fmt.Sprintf("%.0f, %s B; %.0f GCs", r.Mallocs/n, num(r.AllocB/n), r.GCs)
		})),
		row("loss: accepted − stored, every run (must be 0)", only(func(r run) string {
			loss := r.accepted() - int64(r.Stored)
			return verdict(fmt.Sprintf("%d (%s accepted, %s stored)", loss, num(float64(r.accepted())), num(float64(r.Stored))), loss == 0 && r.Drained)
		})),
		row("power cut at the worst moment would lose (peak unsynced events / seconds)", only(func(r run) string {
			return powerCut(r.UnsyncedEvents, r.UnsyncedSeconds, r.Fsyncs, r.Visible)
		})),
		row("other answers", func(r run) string { return otherAnswers(r) }),
		row("stored: visitors / sessions / names / paths", only(func(r run) string {
			v := r.Variety
			return fmt.Sprintf("%s / %s / %d / %s", num(float64(v.Visitors)), num(float64(v.Sessions)), v.Names, num(float64(v.Paths)))
		})),
		row("stored: /16s / countries / cities / sources / browsers / devices", only(func(r run) string {
			v := r.Variety
			return fmt.Sprintf("%s / %d / %d / %d / %d / %d", num(float64(v.Networks)), v.Countries, v.Cities, v.Sources, v.Browsers, v.Devices)
		})),
		row("CPU: server / loadgen / ClickHouse", func(r run) string {
			return fmt.Sprintf("%s / %s / %s", pct(r.CPU.Server), pct(r.CPU.Loadgen), pct(r.CPU.ClickHouse))
		}),
		row("CPU µs per event: server / loadgen / ClickHouse", func(r run) string {
			n := r.events()
			return fmt.Sprintf("%.1f / %.1f / %.1f", 1e6*r.CPU.ServerSec/n, 1e6*r.CPU.LoadgenSec/n, 1e6*r.CPU.ClickHouseSec/n)
		}),
		row("stored ÷ bare per CPU-second (machine to itself)", only(func(r run) string {
			return ratio(bareCost[col] / r.cost())
		})),
		row("CPU: other processes / idle (load1)", func(r run) string {
			return fmt.Sprintf("%s / %s (%s)", pct(r.CPU.Other), pct(r.CPU.Idle), r.CPU.Load1)
		}),
	}
	writeTable(&b, head, rows)
	return b.String()
}

// powerCut shows the accept log's exposure: the most events written and not yet
// fsynced, the oldest age of one, and how often the log was fsynced.
func powerCut(events, seconds, fsyncs float64, over time.Duration) string {
	if fsyncs == 0 {
		return "– (no fsync of the accept log seen)"
	}
	rate := ""
	if over > 0 {
		rate = fmt.Sprintf(" (%.1f fsyncs/s)", fsyncs/over.Seconds())
	}
	return fmt.Sprintf("%s events / %.3f s%s", num(events), seconds, rate)
}

func otherAnswers(r run) string {
	var parts []string
	for _, l := range []loadResult{r.Load, r.Open, r.Sat} {
		for _, code := range slices.Sorted(maps.Keys(l.Status)) {
			if code != 202 {
				parts = append(parts, fmt.Sprintf("%d×%d", l.Status[code], code))
			}
		}
	}
	for _, reason := range slices.Sorted(maps.Keys(r.Rejected)) {
		parts = append(parts, fmt.Sprintf("%s: %.0f", reason, r.Rejected[reason]))
	}
	if r.Dropped > 0 {
		parts = append(parts, fmt.Sprintf("%.0f dropped as bot/GPC/DNT", r.Dropped))
	}
	if r.InsertErr > 0 {
		parts = append(parts, fmt.Sprintf("%.0f insert errors", r.InsertErr))
	}
	for _, l := range []loadResult{r.Load, r.Open, r.Sat} {
		if l.Errors > 0 {
			parts = append(parts, fmt.Sprintf("%d transport errors (%s)", l.Errors, l.FirstErr))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func writeTable(b *strings.Builder, head []string, rows [][]string) {
	all := append([][]string{head}, rows...)
	width := make([]int, len(head))
	for _, r := range all {
		for i, c := range r {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	line := func(r []string) {
		b.WriteString("|")
		for i, c := range r {
			fmt.Fprintf(b, " %s%s |", c, strings.Repeat(" ", width[i]-len([]rune(c))))
		}
		b.WriteString("\n")
	}
	line(head)
	b.WriteString("|")
	for _, w := range width {
		b.WriteString(strings.Repeat("-", w+2) + "|")
	}
	b.WriteString("\n")
	for _, r := range rows {
		line(r)
	}
}

func verdict(s string, ok bool) string {
	if ok {
		return s + " ✓"
	}
	return s + " ✗"
}

// num formats n with thousands separators and no decimals.
func num(n float64) string {
	s := fmt.Sprintf("%.0f", n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func mb(b uint64) string { return fmt.Sprintf("%.0f MB", float64(b)/(1<<20)) }

// pct is a share of the whole machine (all CPUs) in percent.
func pct(f float64) string { return fmt.Sprintf("%.0f%%", 100*f) }

// percentOf is n of total as a percentage with two decimals.
func percentOf(n, total int64) string {
	return fmt.Sprintf("%.2f %%", 100*float64(n)/float64(total))
}

// events is what a run's CPU is divided by: the first run's answered requests for the
// bare server, its accepted events for the collector (every one of them verified stored:
// the loss row).
func (r run) events() float64 {
	if r.Engine == "" {
		return float64(r.Load.Sent - r.Load.Errors)
	}
	return float64(r.Load.Accepted)
}

// cost is the CPU seconds the measured processes (server, load generator, ClickHouse)
// spent per event. Its ratio between the bare server and the collector is what the
// stored ÷ bare ratio would be on a machine running nothing else.
func (r run) cost() float64 {
	return (r.CPU.ServerSec + r.CPU.LoadgenSec + r.CPU.ClickHouseSec) / r.events()
}

// ratio shows two decimals rounded down, so a ratio shown as 0.50 is at least 0.5.
func ratio(f float64) string { return fmt.Sprintf("%.2f", math.Floor(f*100)/100) }

// batchSizeText is the collector's --batch-size as the table states it.
func batchSizeText(n int) string {
	if n == 0 {
		return fmt.Sprintf("0 (the engine's default: %s on the server, %s embedded)",
			num(float64(collector.DefaultBatchSize("server"))), num(float64(collector.DefaultBatchSize("embedded"))))
	}
	return strconv.Itoa(n)
}
