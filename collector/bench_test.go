package collector

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/websystems/loendur/internal/store/storetest"
)

// BenchmarkHandleEvent drives the beacon handler in memory (no network) with varied
// realistic requests, on the ClickHouse server: per-event CPU and allocations of the
// whole in-process path, the batch writer's share included.
func BenchmarkHandleEvent(b *testing.B) {
	c := newTestCollector(b, storetest.Server(b), "bench.test", nil)
	uas := []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
		firefoxUA,
	}
	const variants = 64
	bodies := make([][]byte, variants)
	for i := range bodies {
		bodies[i] = fmt.Appendf(nil, `{"site":"bench.test","name":"pageview","url":"https://bench.test/blog/post-%d?utm_source=news&utm_medium=email","referrer":"https://www.google.com/","width":1440}`, i)
	}
	handler := testApp(b, c).Handler()
	var ctx fasthttp.RequestCtx
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.Header.SetMethod(fasthttp.MethodPost)
		ctx.Request.SetRequestURI("/api/event")
		ctx.Request.Header.SetContentType("text/plain;charset=UTF-8")
		ctx.Request.Header.SetUserAgent(uas[i%len(uas)])
		ctx.Request.Header.Set("X-Forwarded-For", fmt.Sprintf("%d.%d.%d.7", 1+i%200, i/200%250, i%7))
		ctx.Request.SetBodyRaw(bodies[i%variants])
		handler(&ctx)
		if code := ctx.Response.StatusCode(); code != fasthttp.StatusAccepted {
			b.Fatalf("status %d: %s", code, ctx.Response.Header.Peek("X-Loendur-Reason"))
		}
	}
}

// BenchmarkVisitorState is what the handler asks of the per-visitor state for each event
// of make bench's mix: 200,000 visitors in random order, page views and others.
func BenchmarkVisitorState(b *testing.B) {
	s := newSessions(1_000_000)
	r := rand.New(rand.NewPCG(1, 2))
	ids := make([]uint64, 1<<20)
	for i := range ids {
		ids[i] = r.Uint64()%200_000*0x9E3779B97F4A7C15 + 1
	}
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	b.ResetTimer()
	for i := range b.N {
		v := ids[i&(len(ids)-1)]
		at := now.Add(time.Duration(i) * 50 * time.Microsecond)
		s.admit(v, at, i%3 != 0)
	}
}
