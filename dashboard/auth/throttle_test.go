package auth

import (
	"testing"
	"time"
)

func TestThrottleDoublesAndForgets(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	th := newThrottle(func() time.Time { return now })
	for range accountFreeFailures - 1 {
		th.fail("k", accountFreeFailures)
	}
	if w := th.wait("k"); w != 0 {
		t.Fatalf("locked after %d failures: %v", accountFreeFailures-1, w)
	}
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 30 * time.Minute, 30 * time.Minute}
	for i, w := range want {
		th.fail("k", accountFreeFailures)
		if got := th.wait("other", "k"); got != w {
			t.Fatalf("lock after failure %d = %v, want %v", accountFreeFailures+i, got, w)
		}
	}
	now = now.Add(forgetAfter + 31*time.Minute)
	th.fail("k", accountFreeFailures)
	if w := th.wait("k"); w != 0 {
		t.Fatalf("old failures still count: %v", w)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/sites/a.com?period=7d": "/sites/a.com?period=7d", "": "/", "//evil.test/x": "/",
		"https://evil.test": "/", "/\\evil.test": "/", "relative": "/",
	} {
		if got := SafeNext(in); got != want {
			t.Errorf("SafeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
