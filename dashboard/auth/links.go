package auth

import (
	"errors"

	"github.com/gofiber/fiber/v2"
)

// ErrLinkPassword means a shared link's password was wrong.
var ErrLinkPassword = errors.New("wrong password for this link")

// HashPassword hashes the password of a shared link (internal/shares) exactly like a
// staff password: argon2id, the same length rules.
func HashPassword(pw string) (string, error) { return hashPassword(pw) }

// CheckLinkPassword checks pw against the hash of the shared link linkID, throttled
// like a sign-in by the same three counters, with the link in the place of the account:
// the caller's address is locked out of that link after repeated failures (429
// ThrottledError, before the password is checked), and guesses spread over many
// addresses lock the link for everyone but addresses that unlocked it recently.
func (s *Service) CheckLinkPassword(c *fiber.Ctx, linkID, hash, pw string) error {
	try, err := s.throttle.reserve("link:"+linkID, s.clientIP(c))
	if err != nil {
		return err
	}
	if hash == "" || !s.checkPassword(pw, hash) {
		try.end(failed)
		return ErrLinkPassword
	}
	try.end(succeeded)
	return nil
}
