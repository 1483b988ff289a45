package privacy

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"net/netip"
	"strings"
	"testing"
	"time"
)

const testUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"

var testSalt = bytes.Repeat([]byte{0x42}, SaltSize)

func TestNewSalt(t *testing.T) {
	a, err := NewSalt()
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewSalt()
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != SaltSize || len(b) != SaltSize {
		t.Fatalf("salt lengths %d, %d, want %d", len(a), len(b), SaltSize)
	}
	if bytes.Equal(a, b) {
		t.Fatal("two salts are equal")
	}
}

func TestHMACMatchesStdlib(t *testing.T) {
	for _, keyLen := range []int{0, 1, 32, 63, 64, 65, 200} {
		for _, msgLen := range []int{0, 1, 55, 56, 64, 119, 120, 1000} {
			key := bytes.Repeat([]byte{byte(keyLen)}, keyLen)
			msg := bytes.Repeat([]byte{byte(msgLen + 7)}, msgLen)
			buf := append(make([]byte, blockSize), msg...)
			got := hmacSHA256(key, buf)
			m := hmac.New(sha256.New, key)
			m.Write(msg)
			if want := m.Sum(nil); !bytes.Equal(got[:], want) {
				t.Fatalf("key %d msg %d: got %x want %x", keyLen, msgLen, got, want)
			}
		}
	}
}

// TestVisitorIDGolden pins the encoding: collectors of different versions
// running on the same day must compute the same id.
func TestVisitorIDGolden(t *testing.T) {
	got := VisitorID(testSalt, "example.com", netip.MustParseAddr("203.0.113.7"), testUA)
	const want = uint64(0xd0202890e680aae0)
	if got != want {
		t.Fatalf("VisitorID = %#x, want %#x (changing the encoding splits every visitor of the day in two)", got, want)
	}
}

func TestVisitorID(t *testing.T) {
	ip := netip.MustParseAddr("203.0.113.7")
	base := VisitorID(testSalt, "example.com", ip, testUA)
	otherSalt := bytes.Repeat([]byte{0x43}, SaltSize)
	longUA := strings.Repeat("x", 5000)
	same := []struct {
		name string
		id   uint64
	}{
		{"repeat", VisitorID(testSalt, "example.com", ip, testUA)},
		{"mapped IPv4", VisitorID(testSalt, "example.com", netip.MustParseAddr("::ffff:203.0.113.7"), testUA)},
	}
	for _, s := range same {
		if s.id != base {
			t.Errorf("%s: %#x != %#x", s.name, s.id, base)
		}
	}
	differ := []struct {
		name string
		a, b uint64
	}{
		{"salt", base, VisitorID(otherSalt, "example.com", ip, testUA)},
		{"site", base, VisitorID(testSalt, "example.org", ip, testUA)},
		{"ip", base, VisitorID(testSalt, "example.com", netip.MustParseAddr("203.0.113.8"), testUA)},
		{"ua", base, VisitorID(testSalt, "example.com", ip, testUA+" ")},
		{"field boundary", VisitorID(testSalt, "ab", ip, "c"), VisitorID(testSalt, "a", ip, "bc")},
		{"empty fields", VisitorID(testSalt, "", ip, "x"), VisitorID(testSalt, "x", ip, "")},
		{"v4 zero vs v6 zero", VisitorID(testSalt, "s", netip.MustParseAddr("0.0.0.0"), ""), VisitorID(testSalt, "s", netip.MustParseAddr("::"), "")},
		{"invalid vs v6 zero", VisitorID(testSalt, "s", netip.Addr{}, ""), VisitorID(testSalt, "s", netip.MustParseAddr("::"), "")},
		{"long ua", VisitorID(testSalt, "s", ip, longUA), VisitorID(testSalt, "s", ip, longUA+"y")},
	}
	for _, d := range differ {
		if d.a == d.b {
			t.Errorf("%s: ids collide (%#x)", d.name, d.a)
		}
	}
}

// TestVisitorIDIsHMAC recomputes one id with crypto/hmac from the documented
// encoding, so the hand-rolled HMAC path and the encoding are both pinned.
func TestVisitorIDIsHMAC(t *testing.T) {
	ip := netip.MustParseAddr("2001:db8::1")
	msg := []byte(visitorLabel)
	msg = appendString(msg, "example.com")
	msg = appendAddr(msg, ip)
	msg = appendString(msg, testUA)
	m := hmac.New(sha256.New, testSalt)
	m.Write(msg)
	sum := m.Sum(nil)
	var want uint64
	for _, b := range sum[:8] {
		want = want<<8 | uint64(b)
	}
	if got := VisitorID(testSalt, "example.com", ip, testUA); got != want {
		t.Fatalf("VisitorID = %#x, want %#x", got, want)
	}
}

func TestVisitorIDNoAllocs(t *testing.T) {
	ip := netip.MustParseAddr("2001:db8::1")
	allocs := testing.AllocsPerRun(100, func() {
		VisitorID(testSalt, "example.com", ip, testUA)
	})
	if allocs != 0 {
		t.Fatalf("VisitorID allocates %.0f times per call, want 0", allocs)
	}
}

func TestSessionID(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	base := SessionID(1, start)
	tallinn := time.FixedZone("EET", 2*3600)
	if got := SessionID(1, start.In(tallinn)); got != base {
		t.Errorf("same instant in another zone: %#x != %#x", got, base)
	}
	if got := SessionID(1, start.Add(999*time.Millisecond)); got != base {
		t.Errorf("same second: %#x != %#x", got, base)
	}
	if SessionID(1, start.Add(time.Second)) == base {
		t.Error("next second gives the same id")
	}
	if SessionID(2, start) == base {
		t.Error("another visitor gives the same id")
	}
	if SessionID(1, start) == VisitorID(nil, "", netip.Addr{}, "") {
		t.Error("session id equals a visitor id")
	}
}

func BenchmarkVisitorID(b *testing.B) {
	ip := netip.MustParseAddr("2001:db8::1")
	b.ReportAllocs()
	for b.Loop() {
		VisitorID(testSalt, "example.com", ip, testUA)
	}
}

func BenchmarkSessionID(b *testing.B) {
	start := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		SessionID(42, start)
	}
}
