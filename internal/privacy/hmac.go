package privacy

import "crypto/sha256"

// blockSize is the SHA-256 block size, the width of the padded HMAC key.
const blockSize = 64

// hmacSHA256 returns HMAC-SHA256 (RFC 2104) of buf[blockSize:] under key.
// buf[:blockSize] is scratch room that it overwrites with the inner padded
// key, so the inner hash is one sha256.Sum256 over one buffer. It exists
// because crypto/hmac allocates its hash states on every call and VisitorID
// runs for every event; TestHMACMatchesStdlib checks it against crypto/hmac.
func hmacSHA256(key, buf []byte) [sha256.Size]byte {
	var k [blockSize]byte
	if len(key) > blockSize {
		sum := sha256.Sum256(key)
		copy(k[:], sum[:])
	} else {
		copy(k[:], key)
	}
	for i := range blockSize {
		buf[i] = k[i] ^ 0x36
	}
	inner := sha256.Sum256(buf)
	var outer [blockSize + sha256.Size]byte
	for i := range blockSize {
		outer[i] = k[i] ^ 0x5c
	}
	copy(outer[blockSize:], inner[:])
	return sha256.Sum256(outer[:])
}
