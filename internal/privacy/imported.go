package privacy

import "encoding/binary"

// importedLabel separates ids made from another tool's identifiers from visitor and
// session hashes.
const importedLabel = "loendur imported v1\x00"

// ImportedID is a keyed hash (HMAC-SHA256, truncated to 64 bits) of an identifier that
// another analytics tool kept (GoatCounter's session, GA4's user_pseudo_id), the site
// and what kind of id it is: what imported history keeps instead of the identifier.
// key is the day's salt while it exists, or a random key that the import holds in
// memory only, so, like a visitor id, it cannot be linked back once the key is gone.
func ImportedID(key []byte, site, kind, id string) uint64 {
	var stack [blockSize + 256]byte
	msg := stack[:blockSize]
	msg = append(msg, importedLabel...)
	msg = appendString(msg, site)
	msg = appendString(msg, kind)
	msg = appendString(msg, id)
	mac := hmacSHA256(key, msg)
	return binary.BigEndian.Uint64(mac[:8])
}
