package auth

import (
	"crypto/rand"
	"fmt"
	"runtime"
	"sync"

	"github.com/alexedwards/argon2id"
)

// MinPasswordLength is the shortest password accepted. Length is what makes a password
// strong; composition rules only make people write them down.
const MinPasswordLength = 10

// hashParams are argon2id.DefaultParams (64 MiB, 1 pass, 2 lanes): about 50 ms here.
var hashParams = argon2id.DefaultParams

// dummyHash is compared against when an account does not exist, so a login for an
// unknown email takes as long as one with a wrong password. Made on first use: every
// loendur command links this package, and most never check a password.
var dummyHash = sync.OnceValue(func() string {
	h, err := argon2id.CreateHash(rand.Text(), hashParams)
	if err != nil {
		panic(err) // only a failing random source can get here
	}
	return h
})

// newHashLimiter bounds concurrent argon2id runs: each takes 64 MiB, and a burst of
// logins must not exhaust memory before throttling has seen any failure.
func newHashLimiter() chan struct{} { return make(chan struct{}, max(1, runtime.NumCPU())) }

func (s *Service) hashPassword(pw string) (string, error) {
	s.hashes <- struct{}{}
	defer func() { <-s.hashes }()
	return hashPassword(pw)
}

func (s *Service) checkPassword(pw, hash string) bool {
	s.hashes <- struct{}{}
	defer func() { <-s.hashes }()
	if hash == "" {
		hash = dummyHash()
	}
	ok, err := argon2id.ComparePasswordAndHash(pw, hash)
	return err == nil && ok
}

func hashPassword(pw string) (string, error) {
	if len(pw) < MinPasswordLength {
		return "", invalidf("password must have at least %d characters", MinPasswordLength)
	}
	if len(pw) > 1024 {
		return "", invalidf("password must have at most 1024 characters")
	}
	h, err := argon2id.CreateHash(pw, hashParams)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return h, nil
}

// generatePassword returns 26 random base32 characters (128 bits) for accounts created
// without a password; it is printed once.
func generatePassword() string { return rand.Text() }
