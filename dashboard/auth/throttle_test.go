package auth

import (
	"errors"
	"net/netip"
	"testing"
	"time"
)

// try makes one attempt for account from addr that ends with o; it returns the refusal.
func try(th *throttle, account, addr string, o outcome) error {
	a, err := th.reserve(account, netip.MustParseAddr(addr))
	if err != nil {
		return err
	}
	a.end(o)
	return nil
}

func waitOf(err error) time.Duration {
	var te *ThrottledError
	if errors.As(err, &te) {
		return te.Wait
	}
	return 0
}

func TestThrottlePairLockDoublesAndForgets(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	th := newThrottle(func() time.Time { return now })
	for i := range pairLimit.free {
		if err := try(th, "a", "192.0.2.1", failed); err != nil {
			t.Fatalf("failure %d refused: %v", i+1, err)
		}
	}
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 30 * time.Minute, 30 * time.Minute}
	for i, w := range want {
		if got := waitOf(try(th, "a", "192.0.2.1", failed)); got != w {
			t.Fatalf("lock after failure %d = %v, want %v", pairLimit.free+i, got, w)
		}
		now = now.Add(w) // the lock ends; the next failure doubles it
		if err := try(th, "a", "192.0.2.1", failed); err != nil {
			t.Fatalf("attempt after the lock ended: %v", err)
		}
	}
	if err := try(th, "a", "192.0.2.2", succeeded); err != nil {
		t.Fatalf("another address is locked by the pair's failures: %v", err)
	}
	now = now.Add(pairLimit.forget + 31*time.Minute)
	if err := try(th, "a", "192.0.2.1", failed); err != nil {
		t.Fatalf("old failures still count: %v", err)
	}
}

func TestThrottleReservesBeforeTheCheck(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	th := newThrottle(func() time.Time { return now })
	// Two attempts in flight for one account: a third waits, from any address.
	a1, err1 := th.reserve("a", netip.MustParseAddr("192.0.2.1"))
	a2, err2 := th.reserve("a", netip.MustParseAddr("192.0.2.1"))
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	var te *ThrottledError
	if _, err := th.reserve("a", netip.MustParseAddr("198.51.100.1")); !errors.As(err, &te) || !te.Busy {
		t.Fatalf("third attempt in flight: %v", err)
	}
	a1.end(failed)
	a2.end(failed)
	// Attempts in flight count as failures: with 3 counted and 2 in flight, the
	// pair's budget of 5 is spent until they end.
	try(th, "a", "192.0.2.1", failed)
	b1, _ := th.reserve("a", netip.MustParseAddr("192.0.2.1"))
	b2, _ := th.reserve("a", netip.MustParseAddr("192.0.2.1"))
	if b1 == nil || b2 == nil {
		t.Fatal("attempts within the budget refused")
	}
	b1.end(failed)
	if _, err := th.reserve("b", netip.MustParseAddr("192.0.2.1")); err != nil {
		t.Fatalf("another account at the address: %v", err)
	}
	if _, err := th.reserve("a", netip.MustParseAddr("192.0.2.1")); !errors.As(err, &te) {
		t.Fatalf("attempt beyond the budget admitted")
	}
}

func TestThrottleIPv6CountsBy64(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	th := newThrottle(func() time.Time { return now })
	for i := range pairLimit.free {
		addr := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i + 1)}).String()
		try(th, "a", addr, failed)
	}
	if err := try(th, "a", "2001:db8::ffff:1", failed); waitOf(err) == 0 {
		t.Fatal("another address of the same /64 is not locked")
	}
	if err := try(th, "a", "2001:db8:0:1::1", failed); err != nil {
		t.Fatalf("another /64 is locked: %v", err)
	}
	if addrGroup(netip.MustParseAddr("::ffff:192.0.2.7")) != "192.0.2.7" {
		t.Fatal("an IPv4-mapped address is not counted as its IPv4 address")
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/sites/a.com?period=7d&filters=page%3D%3D%2Fx": "/sites/a.com?period=7d&filters=page%3D%3D%2Fx",
		"": "/", "//evil.test/x": "/", "https://evil.test": "/", "/\\evil.test": "/", "relative": "/",
		"/\t/evil.example/": "/", "/\n/evil.example/": "/", "/\r/evil.example/": "/", "/\x00/evil": "/",
		"/\x7f/evil": "/", " //evil.test": "/", "/ /evil.test": "/", "/\u00a0/evil": "/", "/\u2028/evil": "/",
		"\\\\evil.test": "/", "/%09/evil": "/%09/evil", "/sites/x#frag": "/sites/x#frag",
	} {
		if got := SafeNext(in); got != want {
			t.Errorf("SafeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
