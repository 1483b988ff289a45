package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// Targets of issue 6.
const (
	targetRatio   = 0.5
	targetP99     = 10 * time.Millisecond
	targetRSS     = 256 << 20
	targetInserts = 5.0 // "a few inserts per second"
)

// printRun is the one-line progress note after each run.
func printRun(w io.Writer, r run) {
	if r.Engine == "" {
		fmt.Fprintf(w, "bench: %s: %s answered/s, p50 %s, p99 %s, status %v, errors %d %s\n",
			r.Name, num(r.Load.PerSecond(r.Load.Sent-r.Load.Errors)), ms(r.Load.P50), ms(r.Load.P99), r.Load.Status, r.Load.Errors, r.Load.FirstErr)
		return
	}
	fmt.Fprintf(w, "bench: %s %s: %s accepted/s, %s stored/s end to end, p99 %s, peak RSS %s, %.0f inserts, stored %d of %d accepted, status %v, errors %d %s\n",
		r.Name, r.Version, num(r.Load.PerSecond(r.Load.Accepted)), num(r.storedPerSecond()), ms(r.Load.P99), mb(r.RSS.HWM),
		r.Inserts, r.Stored, r.Load.Accepted, r.Load.Status, r.Load.Errors, r.Load.FirstErr)
}

func (r run) storedPerSecond() float64 {
	if r.Visible <= 0 {
		return 0
	}
	return float64(r.Stored) / r.Visible.Seconds()
}

// renderReport is the result table in Markdown (readable as plain text too).
func renderReport(cfg benchConfig, runs []run) string {
	var b strings.Builder
	// Each engine is compared with the mean of the bare runs just before and just after
	// it, so that the machine's drift during the engine's run weighs on both sides.
	bareRate, bareCost := map[int]float64{}, map[int]float64{}
	for i, r := range runs {
		if r.Engine == "" {
			continue
		}
		n := 0.0
		for _, j := range []int{i - 1, i + 1} {
			if j >= 0 && j < len(runs) && runs[j].Engine == "" {
				bareRate[i] += runs[j].Load.PerSecond(runs[j].Load.Sent - runs[j].Load.Errors)
				bareCost[i] += runs[j].cost()
				n++
			}
		}
		if n > 0 {
			bareRate[i], bareCost[i] = bareRate[i]/n, bareCost[i]/n
		}
	}
	fmt.Fprintf(&b, "\n%s\n\n%d CPUs; load generator GOMAXPROCS=%d, %d keep-alive connections, at most %v (bare Fiber %v) or %s requests per run; "+
		"collector --queue-size %d --batch-size %d --flush-interval %v --accept-log-sync %v --rate-limit -1%s\n\n",
		machine(), cpus(), cfg.load.procs, cfg.load.conns, cfg.load.duration, cfg.bareDuration, num(float64(cfg.load.max)),
		cfg.queueSize, cfg.batchSize, cfg.flushInterval, cfg.acceptSync, map[bool]string{true: " --geoip (generated City database)", false: ""}[cfg.geo])

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
		row("stored ÷ bare, the mean of the runs before and after (target ≥ 0.5)", only(func(r run) string {
			bare := bareRate[col]
			return verdict(ratio(r.storedPerSecond()/bare), r.storedPerSecond() >= targetRatio*bare)
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
		row("peak RSS, VmHWM (target < 256 MB)", func(r run) string {
			if r.Engine == "" {
				return mb(r.RSS.HWM)
			}
			return verdict(mb(r.RSS.HWM), r.RSS.HWM < targetRSS)
		}),
		row("peak RSS anonymous / file-backed", func(r run) string { return mb(r.RSS.Anon) + " / " + mb(r.RSS.File) }),
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
		row("loss: accepted − stored (must be 0)", only(func(r run) string {
			loss := r.Load.Accepted - int64(r.Stored)
			return verdict(fmt.Sprintf("%d (%s accepted, %s stored)", loss, num(float64(r.Load.Accepted)), num(float64(r.Stored))), loss == 0 && r.Drained)
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
	for _, code := range slices.Sorted(maps.Keys(r.Load.Status)) {
		if code != 202 {
			parts = append(parts, fmt.Sprintf("%d×%d", r.Load.Status[code], code))
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
	if r.Load.Errors > 0 {
		parts = append(parts, fmt.Sprintf("%d transport errors (%s)", r.Load.Errors, r.Load.FirstErr))
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

// events is what a run's CPU is divided by: answered requests for the bare server,
// stored events for the collector.
func (r run) events() float64 {
	if r.Engine == "" {
		return float64(r.Load.Sent - r.Load.Errors)
	}
	return float64(r.Stored)
}

// cost is the CPU seconds the measured processes (server, load generator, ClickHouse)
// spent per event. Its ratio between the bare server and the collector is what the
// stored ÷ bare ratio would be on a machine running nothing else.
func (r run) cost() float64 {
	return (r.CPU.ServerSec + r.CPU.LoadgenSec + r.CPU.ClickHouseSec) / r.events()
}

// ratio shows two decimals rounded down, so a ratio shown as 0.50 is at least 0.5.
func ratio(f float64) string { return fmt.Sprintf("%.2f", math.Floor(f*100)/100) }
