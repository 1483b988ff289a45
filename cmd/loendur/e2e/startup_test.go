package e2e

import (
	"net"
	"strconv"
	"testing"
)

// Each failure a user can cause at start ends the process with a non-zero code and one
// line that names the cause and the fix, never a stack trace.
func TestStartupFailures(t *testing.T) {
	t.Run("unreachable server", func(t *testing.T) {
		t.Parallel()
		res := runToExit(t, run{Args: []string{"--db", "clickhouse://127.0.0.1:1/x", "--site", site}})
		checkOneLineFailure(t, res, "127.0.0.1:1", "running")
	})
	t.Run("malformed DSN", func(t *testing.T) {
		t.Parallel()
		res := runToExit(t, run{Args: []string{"--db", "postgres://x", "--site", site}})
		checkOneLineFailure(t, res, "--db", "chdb://", "clickhouse://")
	})
	t.Run("missing libchdb", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		res := runToExit(t, run{
			Args: []string{"--db", "chdb://" + dir + "/data", "--site", site},
			Env:  []string{"CHDB_LIB_PATH=/nonexistent", "HOME=" + t.TempDir()},
		})
		checkOneLineFailure(t, res, "libchdb", "CHDB_LIB_PATH")
	})
	t.Run("port in use", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		res := runToExit(t, run{DB: newDB(t, "server"), Addr: ln.Addr().String(), Args: []string{"--site", site}})
		checkOneLineFailure(t, res, ln.Addr().String(), "--addr")
	})
	t.Run("chDB folder held by a running serve", func(t *testing.T) {
		t.Parallel()
		d := newDB(t, "chdb")
		first := start(t, run{DB: d, Args: []string{"--site", site}})
		res := runToExit(t, run{DB: d, Args: []string{"--site", site}})
		checkOneLineFailure(t, res, d.Dir, strconv.Itoa(first.Pid()), "stop")
		if r := first.post(event("pageview", "https://site.test/", nil), nil); r.Status != 202 {
			t.Errorf("the running serve answered %d %s after the second one failed, want 202", r.Status, r.Reason)
		}
		first.stopClean()
		if n := len(d.events(t)); n != 1 {
			t.Errorf("%d events stored, want 1", n)
		}
	})
}
