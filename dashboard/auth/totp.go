package auth

import (
	"context"
	"encoding/base32"
	"fmt"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

const totpIssuer = "loendur"

// TOTPKey is what a person types or scans into an authenticator app.
type TOTPKey struct {
	Secret string `json:"secret"` // base32
	URL    string `json:"url"`    // otpauth://totp/…
}

// TOTPSetupError is returned at login when an admin requires two-factor sign-in and
// the account has not enrolled yet: the page shows Key and asks for a code.
type TOTPSetupError struct {
	Key   TOTPKey
	Wrong bool // a code was given and did not match
}

func (e *TOTPSetupError) Error() string {
	if e.Wrong {
		return "that code did not match: check the key in your authenticator app and enter its current code"
	}
	return "two-factor sign-in is required for this account: add this key to your authenticator app and enter its code"
}

func newTOTPKey(email string) (TOTPKey, error) {
	k, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: email})
	if err != nil {
		return TOTPKey{}, fmt.Errorf("generate TOTP secret: %w", err)
	}
	return TOTPKey{Secret: k.Secret(), URL: k.URL()}, nil
}

// totpKeyOf rebuilds the key shown for a stored secret.
func totpKeyOf(email, secret string) (TOTPKey, error) {
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		return TOTPKey{}, fmt.Errorf("stored TOTP secret: %w", err)
	}
	k, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: email, Secret: raw})
	if err != nil {
		return TOTPKey{}, fmt.Errorf("TOTP key: %w", err)
	}
	return TOTPKey{Secret: k.Secret(), URL: k.URL()}, nil
}

// validCode checks a code against secret: the current step, or the previous one for a
// code typed as it changed or a phone clock a little behind. Never a future step: the
// replay guard below refuses every step up to the last one used, so accepting the next
// step's code would make the current one fail afterwards. A step already used by this
// account is refused, so an observed code cannot be replayed within its life.
func (s *Service) validCode(userID, secret, code string) bool {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != 6 || secret == "" {
		return false
	}
	now := s.now()
	for _, drift := range []int64{0, -1} {
		t := now.Add(time.Duration(drift) * 30 * time.Second)
		ok, err := totp.ValidateCustom(code, secret, t, totp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil || !ok {
			continue
		}
		return s.useStep(userID, t.Unix()/30)
	}
	return false
}

// useStep records step as the account's last used one, unless it is not newer than
// that: atomically, so two parallel sign-ins cannot both spend one code.
func (s *Service) useStep(userID string, step int64) bool {
	for {
		last, used := s.totpUsed.LoadOrStore(userID, step)
		if !used {
			return true
		}
		if last.(int64) >= step {
			return false
		}
		if s.totpUsed.CompareAndSwap(userID, last, step) {
			return true
		}
	}
}

// checkTOTP is the second factor at login. It enrols the account on the way when an
// admin requires TOTP and none is set up yet, and then returns its recovery codes.
func (s *Service) checkTOTP(ctx context.Context, r *userRow, code string) ([]string, error) {
	switch {
	case r.TOTPSecret != "":
		if strings.TrimSpace(code) == "" {
			return nil, ErrTOTPNeeded
		}
		return nil, s.secondFactor(ctx, r, code)
	case r.TOTPRequired == 1:
		return s.enrolAtLogin(ctx, r, code)
	}
	return nil, nil
}

func (s *Service) enrolAtLogin(ctx context.Context, r *userRow, code string) ([]string, error) {
	key, err := s.pendingKey(ctx, r)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(code) == "" {
		return nil, &TOTPSetupError{Key: key}
	}
	if !s.validCode(r.ID, r.TOTPPending, code) {
		return nil, &TOTPSetupError{Key: key, Wrong: true}
	}
	return s.activateTOTP(ctx, r)
}

// pendingKey returns the account's unconfirmed key, creating one if there is none, so
// every attempt of one enrolment shows the same key.
func (s *Service) pendingKey(ctx context.Context, r *userRow) (TOTPKey, error) {
	if r.TOTPPending != "" {
		return totpKeyOf(r.Email, r.TOTPPending)
	}
	key, err := newTOTPKey(r.Email)
	if err != nil {
		return TOTPKey{}, err
	}
	r.TOTPPending = key.Secret
	return key, writeUser(ctx, s.db, r, s.nextVersion())
}

// activateTOTP turns the pending key on and returns the account's new recovery codes.
func (s *Service) activateTOTP(ctx context.Context, r *userRow) ([]string, error) {
	r.TOTPSecret, r.TOTPPending = r.TOTPPending, ""
	if err := writeUser(ctx, s.db, r, s.nextVersion()); err != nil {
		return nil, err
	}
	s.audit(ctx, r.Email, "totp_enrol", r.Email, "", "")
	return s.newRecoveryCodes(ctx, r)
}

// StartTOTP begins enrolment from the account page: the key is kept pending until
// ConfirmTOTP sees a code from it.
func (s *Service) StartTOTP(ctx context.Context, u *User) (TOTPKey, error) {
	r, err := userByID(ctx, s.db, u.ID)
	if err != nil {
		return TOTPKey{}, err
	}
	if r.TOTPSecret != "" {
		return TOTPKey{}, invalidf("two-factor sign-in is already set up")
	}
	return s.pendingKey(ctx, r)
}

// ConfirmTOTP turns the pending key on when code matches it, and returns the
// account's recovery codes, to be shown once.
func (s *Service) ConfirmTOTP(ctx context.Context, u *User, code string) ([]string, error) {
	r, err := userByID(ctx, s.db, u.ID)
	if err != nil {
		return nil, err
	}
	if r.TOTPPending == "" {
		return nil, invalidf("start the set-up first")
	}
	if !s.validCode(r.ID, r.TOTPPending, code) {
		return nil, ErrTOTPWrong
	}
	return s.activateTOTP(ctx, r)
}

// DisableTOTP turns two-factor sign-in off for the account itself, with a current
// code as proof; refused when an admin requires it.
func (s *Service) DisableTOTP(ctx context.Context, u *User, code string) error {
	r, err := userByID(ctx, s.db, u.ID)
	if err != nil {
		return err
	}
	if r.TOTPRequired == 1 {
		return invalidf("an admin requires two-factor sign-in for this account")
	}
	if !s.validCode(r.ID, r.TOTPSecret, code) {
		return ErrTOTPWrong
	}
	r.TOTPSecret, r.TOTPPending = "", ""
	if err := writeUser(ctx, s.db, r, s.nextVersion()); err != nil {
		return err
	}
	s.audit(ctx, r.Email, "totp_disable", r.Email, "", "")
	return nil
}

// PendingTOTP returns the key being enrolled, if any, so the account page can show it
// again after a wrong code.
func (s *Service) PendingTOTP(ctx context.Context, u *User) (TOTPKey, bool, error) {
	r, err := userByID(ctx, s.db, u.ID)
	if err != nil || r.TOTPPending == "" {
		return TOTPKey{}, false, err
	}
	k, err := totpKeyOf(r.Email, r.TOTPPending)
	return k, err == nil, err
}
