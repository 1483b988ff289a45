package notify_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/websystems/loendur/internal/testenv/mailpit"
)

// Mailpit's ports for this package's tests (loopback, 19200–19299 are the tests' own):
// the shared server, the one TestUnreachableSMTP starts late, and one never used.
const (
	mailpitSMTP, mailpitHTTP = 19200, 19201
	lateSMTP, lateHTTP       = 19202, 19203
	deadSMTP                 = 19204 // never listened on
)

// mp is the package's Mailpit; nil when it is not installed (tests then skip, or fail
// under CI=true).
var (
	mp        *mailpit.Server
	mpBin     string
	mpMissing string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	bin, ok := mailpit.Path()
	if !ok {
		mpMissing = "Mailpit " + mailpit.Version + " not installed at " + bin + " (make mailpit, or make test)"
		return m.Run()
	}
	mpBin = bin
	var err error
	if mp, err = mailpit.Start(bin, mailpitSMTP, mailpitHTTP); err != nil {
		fmt.Fprintln(os.Stderr, "notify tests:", err)
		return 1
	}
	defer mp.Stop()
	return m.Run()
}

// needMailpit skips (or under CI=true fails) a test when Mailpit is missing.
func needMailpit(t *testing.T) *mailpit.Server {
	t.Helper()
	if mp == nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("required test component missing: %s", mpMissing)
		}
		t.Skip("skipping: " + mpMissing)
	}
	return mp
}

// inbox waits until at least n messages to addr have arrived at srv and returns them
// in full, oldest first; it fails after 20 s.
func inbox(t *testing.T, srv *mailpit.Server, addr string, n int) []mailpit.Message {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for {
		list, err := srv.Messages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range list {
			for _, to := range m.To {
				if strings.EqualFold(to.Address, addr) {
					ids = append(ids, m.ID)
				}
			}
		}
		if len(ids) >= n || time.Now().After(deadline) {
			out := make([]mailpit.Message, 0, len(ids))
			for i := len(ids) - 1; i >= 0; i-- {
				msg, err := srv.Message(ctx, ids[i])
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, msg)
			}
			return out
		}
		time.Sleep(100 * time.Millisecond)
	}
}
