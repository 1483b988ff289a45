package privacy

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"
)

// SaltSize is the length of a daily salt: as long as the SHA-256 output, so the
// salt, not the hash, bounds how hard a visitor id is to reverse.
const SaltSize = 32

// Domain-separation labels, so a visitor id can never equal a session id or
// a hash computed for another purpose from the same bytes.
const (
	visitorLabel = "loendur visitor v1\x00"
	sessionLabel = "loendur session v1\x00"
)

// NewSalt returns SaltSize random bytes for a new daily salt.
func NewSalt() ([]byte, error) {
	salt := make([]byte, SaltSize)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("privacy: reading random salt: %w", err)
	}
	return salt, nil
}

// VisitorID is a keyed hash (HMAC-SHA256, truncated to 64 bits) of the daily
// salt, site, full IP address and user agent. It is stable within a day for
// one site, differs between sites, and cannot be linked to a person once the
// salt is deleted. Fields are length-prefixed, so ("ab", "c") and ("a", "bc")
// differ. IPv4-mapped IPv6 hashes like the plain IPv4 address; the zone is
// ignored. salt must come from NewSalt: with a guessable salt, the ids of
// IPv4 visitors could be recovered by trying every address.
func VisitorID(salt []byte, site string, ip netip.Addr, userAgent string) uint64 {
	var stack [blockSize + 512]byte // typical events fit: no allocation
	msg := stack[:blockSize]        // room for hmacSHA256's padded key
	msg = append(msg, visitorLabel...)
	msg = appendString(msg, site)
	msg = appendAddr(msg, ip)
	msg = appendString(msg, userAgent)
	mac := hmacSHA256(salt, msg)
	return binary.BigEndian.Uint64(mac[:8])
}

// SessionTimeout ends a visit after this long without an event: the collector begins a
// new session (with a new SessionID) after it, and the reports finalize a visit once it
// has passed.
const SessionTimeout = 30 * time.Minute

// SessionID derives a session id from a visitor id and the session's start.
// It is a pure function, so two collectors that agree on the start agree on
// the id. The start is taken at second resolution because that is what a
// ClickHouse DateTime column keeps and gives back.
func SessionID(visitorID uint64, start time.Time) uint64 {
	var msg [len(sessionLabel) + 16]byte
	n := copy(msg[:], sessionLabel)
	binary.BigEndian.PutUint64(msg[n:], visitorID)
	binary.BigEndian.PutUint64(msg[n+8:], uint64(start.Unix()))
	sum := sha256.Sum256(msg[:])
	return binary.BigEndian.Uint64(sum[:8])
}

// appendString appends s with a 4-byte length prefix.
func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// appendAddr appends a fixed 17-byte form of ip: a family byte (0 invalid,
// 4, 6) then the 16-byte address, so the invalid address, 0.0.0.0 and :: all
// differ.
func appendAddr(b []byte, ip netip.Addr) []byte {
	ip = ip.Unmap()
	family := byte(0)
	switch {
	case ip.Is4():
		family = 4
	case ip.Is6():
		family = 6
	}
	a := ip.As16()
	b = append(b, family)
	return append(b, a[:]...)
}
