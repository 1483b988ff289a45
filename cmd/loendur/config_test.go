package main

import (
	"strings"
	"testing"
	"time"

	"github.com/websystems/loendur/internal/acceptlog"
)

// --accept-log-sync: its default, the flag, LOENDUR_ACCEPT_LOG_SYNC (the flag wins), 0,
// and a negative value refused.
func TestAcceptLogSyncConfig(t *testing.T) {
	parse := func(args ...string) (time.Duration, error) {
		t.Helper()
		cfg, err := parseServeConfig(args)
		return cfg.AcceptLogSync, err
	}
	if d, err := parse(); err != nil || d != acceptlog.DefaultSyncInterval {
		t.Errorf("default: %v, %v; want %v", d, err, acceptlog.DefaultSyncInterval)
	}
	if d, err := parse("--accept-log-sync", "250ms"); err != nil || d != 250*time.Millisecond {
		t.Errorf("flag: %v, %v; want 250ms", d, err)
	}
	if d, err := parse("--accept-log-sync", "0"); err != nil || d != 0 {
		t.Errorf("0: %v, %v; want 0 (fsync only at delivery)", d, err)
	}
	t.Setenv("LOENDUR_ACCEPT_LOG_SYNC", "2s")
	if d, err := parse(); err != nil || d != 2*time.Second {
		t.Errorf("environment: %v, %v; want 2s", d, err)
	}
	if d, err := parse("--accept-log-sync", "50ms"); err != nil || d != 50*time.Millisecond {
		t.Errorf("flag and environment: %v, %v; want the flag's 50ms", d, err)
	}
	if _, err := parse("--accept-log-sync", "-1s"); err == nil || !strings.Contains(err.Error(), "--accept-log-sync") {
		t.Errorf("negative: %v; want an error naming --accept-log-sync", err)
	}
}
