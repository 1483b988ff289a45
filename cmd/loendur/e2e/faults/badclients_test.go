package faults

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/websystems/loendur/cmd/loendur/e2e/e2eproc"
)

// slowResult is how a slow client ended.
type slowResult struct {
	name   string
	closed time.Duration // after connecting; 0 if still open at the limit
	answer string        // the status line, if the server answered before closing
	sent   int           // bytes sent
}

// slowClient connects, sends prefix, then one byte of drip a second, and reports when
// the server closes the connection (a read ends or a write fails), up to limit.
func slowClient(addr, name, prefix, drip string, limit time.Duration) slowResult {
	res := slowResult{name: name}
	began := time.Now()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		res.answer = "dial: " + err.Error()
		return res
	}
	defer conn.Close()
	// The reader reads everything until the server closes the connection (or the
	// limit), and reports the last status line it saw.
	closed := make(chan string, 1)
	go func() {
		conn.SetReadDeadline(began.Add(limit))
		br := bufio.NewReader(conn)
		status := ""
		for {
			line, err := br.ReadString('\n')
			if strings.HasPrefix(line, "HTTP/1.1 ") {
				status = strings.TrimSpace(line)
			}
			if err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					closed <- "timeout"
				} else {
					closed <- status
				}
				return
			}
		}
	}()
	if _, err := io.WriteString(conn, prefix); err == nil {
		res.sent = len(prefix)
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case answer := <-closed:
			if answer == "timeout" {
				return res // still open at the limit
			}
			res.closed, res.answer = time.Since(began), answer
			return res
		case <-tick.C:
			if drip == "" {
				continue
			}
			if _, err := conn.Write([]byte{drip[i%len(drip)]}); err != nil {
				res.closed = time.Since(began)
				res.answer = "write failed: " + err.Error()
				return res
			}
			res.sent++
		}
	}
}

// hugeHeaders sends a request whose headers are about 1 MB and returns the status and
// reason of the answer, or "" when the server closed the connection without one.
func hugeHeaders(t *testing.T, addr string, headers string) (string, error) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	req := "POST /api/event HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: text/plain\r\nUser-Agent: " + e2eproc.FirefoxUA + "\r\n" +
		headers + "Content-Length: 2\r\n\r\n{}"
	go io.WriteString(conn, req) // the server may stop reading: don't block on it
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return "", fmt.Errorf("no answer and no close within 20 s")
		}
		return "", nil // closed without an answer
	}
	resp.Body.Close()
	return fmt.Sprintf("%s (X-Loendur-Reason %q)", resp.Status, resp.Header.Get("X-Loendur-Reason")), nil
}

// 7. Abusive clients against one collector: slow clients are cut off, wrong methods,
// content types, nested JSON, too many props and megabyte headers each get a clear
// 4xx or a closed connection, and the collector keeps serving.
func TestBadClients(t *testing.T) {
	t.Parallel()
	ch := newClickHouse(t)
	c := startCollector(t, ch, t.TempDir())
	before, err := c.Metrics()
	if err != nil {
		t.Fatal(err)
	}

	// Slow clients run in the background while the rest is checked.
	const slowLimit = 25 * time.Second
	slow := []struct{ name, prefix, drip string }{
		{"headers at 1 byte/s (slowloris)", "POST /api/event HTTP/1.1\r\nHost: " + c.Addr + "\r\n", "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"},
		{"body at 1 byte/s (slow POST)", "POST /api/event HTTP/1.1\r\nHost: " + c.Addr + "\r\nContent-Type: text/plain\r\nUser-Agent: " + e2eproc.FirefoxUA +
			"\r\nContent-Length: 1000\r\n\r\n", `{"site":"fault.test","name":"pageview","url":"https://fault.test/","props":{"x":"` + strings.Repeat("a", 900)},
		{"connection that sends nothing", "", ""},
		{"second request of a keep-alive connection at 1 byte/s", "GET /healthz HTTP/1.1\r\nHost: " + c.Addr + "\r\n\r\n" +
			"POST /api/event HTTP/1.1\r\nHost: " + c.Addr + "\r\n", "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"},
	}
	var slowWG sync.WaitGroup
	slowResults := make([]slowResult, len(slow))
	const crowd = 50 // more slowloris connections, to check they do not starve others
	crowdResults := make([]slowResult, crowd)
	for i, s := range slow {
		slowWG.Go(func() { slowResults[i] = slowClient(c.Addr, s.name, s.prefix, s.drip, slowLimit) })
	}
	for i := range crowd {
		slowWG.Go(func() { crowdResults[i] = slowClient(c.Addr, "crowd", slow[0].prefix, slow[0].drip, slowLimit) })
	}

	hc := &http.Client{Timeout: 15 * time.Second}
	do := func(method, ct, body string) (int, string, error) {
		r, err := e2eproc.Send(hc, method, c.URL("/api/event"), body, map[string]string{"Content-Type": ct})
		return r.Status, r.Reason, err
	}
	valid := func(props map[string]string) string {
		return e2eproc.Beacon(site, "pageview", "https://"+site+"/bad-clients", map[string]any{"props": props})
	}
	props := func(n int) map[string]string {
		m := map[string]string{}
		for i := range n {
			m[fmt.Sprintf("k%02d", i)] = "v"
		}
		return m
	}
	nestedProps := `{"site":"fault.test","name":"pageview","url":"https://fault.test/","props":{"a":` +
		strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}}`
	cases := []struct {
		name         string
		method, ct   string
		body         string
		wantStatus   int
		wantReason   string
		orConnClosed bool
	}{
		{"PUT", http.MethodPut, "text/plain", valid(nil), 405, "bad_method", false},
		{"DELETE", http.MethodDelete, "text/plain", valid(nil), 405, "bad_method", false},
		{"GET", http.MethodGet, "", "", 405, "bad_method", false},
		{"form content type", http.MethodPost, "application/x-www-form-urlencoded", "site=fault.test&name=pageview", 415, "bad_content_type", false},
		{"multipart content type", http.MethodPost, "multipart/form-data; boundary=x", "--x--", 415, "bad_content_type", false},
		{"XML content type", http.MethodPost, "application/xml", "<event/>", 415, "bad_content_type", false},
		{"nesting 5000 deep in props", http.MethodPost, "text/plain", nestedProps, 400, "bad_body", false},
		{"16000 open brackets", http.MethodPost, "text/plain", strings.Repeat("[", 16000), 400, "bad_body", false},
		{"31 props", http.MethodPost, "text/plain", valid(props(31)), 400, "bad_field", false},
		{"1000 props", http.MethodPost, "text/plain", valid(props(1000)), 400, "bad_field", false},
		{"1 MB body", http.MethodPost, "text/plain", valid(map[string]string{"x": strings.Repeat("a", 1<<20)}), 413, "too_large", true},
		{"30 props (the limit: accepted)", http.MethodPost, "text/plain", valid(props(30)), 202, "", false},
	}
	for _, tc := range cases {
		status, reason, err := do(tc.method, tc.ct, tc.body)
		switch {
		case err != nil && tc.orConnClosed:
			t.Logf("%s: connection closed (%v)", tc.name, err)
		case err != nil:
			t.Errorf("%s: %v, want %d %s", tc.name, err, tc.wantStatus, tc.wantReason)
		case status != tc.wantStatus || reason != tc.wantReason:
			t.Errorf("%s: %d %q, want %d %q", tc.name, status, reason, tc.wantStatus, tc.wantReason)
		default:
			t.Logf("%s: %d %s", tc.name, status, reason)
		}
	}

	// Megabyte headers: one huge header, and a thousand of 1 KB.
	var many strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&many, "X-Filler-%d: %s\r\n", i, strings.Repeat("b", 1000))
	}
	for _, h := range []struct{ name, headers string }{
		{"one 1 MB header", "X-Huge: " + strings.Repeat("a", 1<<20) + "\r\n"},
		{"1000 headers of 1 KB", many.String()},
	} {
		line, err := hugeHeaders(t, c.Addr, h.headers)
		switch {
		case err != nil:
			t.Errorf("%s: %v", h.name, err)
		case line == "":
			t.Logf("%s: connection closed without an answer", h.name)
		case strings.HasPrefix(line, "431 "):
			t.Logf("%s: %s", h.name, line)
		default:
			t.Errorf("%s: answered %q, want 431 Request Header Fields Too Large or a closed connection", h.name, line)
		}
	}

	// The slow clients are still connected (or just cut off): the collector answers others.
	if status, _, err := do(http.MethodPost, "text/plain", valid(map[string]string{"n": "during-slowloris"})); err != nil || status != 202 {
		t.Errorf("a valid event while %d slow clients are connected: %d %v, want 202", len(slow)+crowd, status, err)
	}
	slowWG.Wait()
	for _, r := range slowResults {
		switch {
		case r.closed == 0:
			t.Errorf("%s: still open after %s (%d bytes sent), want closed by the server within 15 s", r.name, slowLimit, r.sent)
		case r.closed > 15*time.Second:
			t.Errorf("%s: closed after %s, want within 15 s", r.name, r.closed.Round(time.Millisecond))
		case r.answer != "" && !strings.HasPrefix(r.answer, "HTTP/1.1 4") && !strings.HasPrefix(r.answer, "write failed") &&
			!strings.HasPrefix(r.answer, "HTTP/1.1 200"): // the keep-alive case answers its first request
			t.Errorf("%s: closed after %s with %q, want a 4xx or no answer", r.name, r.closed.Round(time.Millisecond), r.answer)
		default:
			t.Logf("%s: closed by the server after %s (%d bytes sent; answer %q)", r.name, r.closed.Round(time.Millisecond), r.sent, r.answer)
		}
	}
	open := 0
	for _, r := range crowdResults {
		if r.closed == 0 || r.closed > 15*time.Second {
			open++
		}
	}
	if open > 0 {
		t.Errorf("%d of %d slowloris connections not closed within 15 s", open, crowd)
	}

	// Still serving, nothing crashed, every refusal counted.
	if c.Exited() {
		t.Fatalf("loendur exited: %v", c.State())
	}
	resp, err := hc.Get(c.URL("/healthz"))
	if err != nil {
		t.Fatalf("GET /healthz after the bad clients: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /healthz after the bad clients: %d, want 200", resp.StatusCode)
	}
	after, err := c.Metrics()
	if err != nil {
		t.Fatal(err)
	}
	for reason, want := range map[string]float64{"bad_method": 3, "bad_content_type": 3, "bad_body": 2, "bad_field": 1} {
		key := e2eproc.Rejected(reason)
		if got := after[key] - before[key]; got < want {
			t.Errorf("%s went up by %g, want at least %g", key, got, want)
		}
	}
	for _, bad := range []string{"panic", "goroutine ", "level=ERROR"} {
		if strings.Contains(c.Log(), bad) {
			t.Errorf("the collector's log contains %q:\n%s", bad, e2eproc.Tail(c.Log(), 30))
		}
	}
}
