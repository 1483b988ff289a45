package auth

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// RecoveryCodeCount is how many recovery codes a set has.
const RecoveryCodeCount = 10

// recoveryAlphabet leaves out letters read as digits (0/O, 1/I/L) and vice versa.
const recoveryAlphabet = "23456789abcdefghjkmnpqrstuvwxyz"

const localRecovery = "loendur.recovery"

// newRecoveryCode is 10 characters of a 31-letter alphabet (about 50 bits), shown as
// xxxxx-xxxxx: enough against guessing under the login throttle, short to type.
func newRecoveryCode() string {
	b := make([]byte, 10)
	rand.Read(b)
	out := make([]byte, 0, 11)
	for i, c := range b {
		if i == 5 {
			out = append(out, '-')
		}
		// Modulo bias of 256 % 31 is below 4%: irrelevant at 50 bits.
		out = append(out, recoveryAlphabet[int(c)%len(recoveryAlphabet)])
	}
	return string(out)
}

// normalRecoveryCode is how a typed code is compared: lower case, no spaces or dashes.
func normalRecoveryCode(code string) string {
	return strings.NewReplacer("-", "", " ", "").Replace(strings.ToLower(strings.TrimSpace(code)))
}

// unusedRecoveryHashes lists the hashes of the account's unspent codes.
func (s *Service) unusedRecoveryHashes(ctx context.Context, userID string) ([]string, error) {
	var rows []struct {
		Hash string `ch:"code_hash"`
	}
	err := s.db.Select(ctx, &rows, `SELECT code_hash FROM (SELECT code_hash, argMax(used, version) AS used
		FROM totp_recovery_codes WHERE user_id = ? GROUP BY code_hash) WHERE used = 0`, userID)
	if err != nil {
		return nil, fmt.Errorf("read recovery codes: %w", err)
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Hash
	}
	return out, nil
}

// markRecoveryUsed spends the codes with these hashes.
func (s *Service) markRecoveryUsed(ctx context.Context, userID string, hashes []string) error {
	if len(hashes) == 0 {
		return nil
	}
	rows := make([][]any, len(hashes))
	now := s.now().UTC()
	for i, h := range hashes {
		rows[i] = []any{userID, h, now, uint8(1), s.nextVersion()}
	}
	if err := s.db.Insert(ctx, "totp_recovery_codes", []string{"user_id", "code_hash", "created", "used", "version"}, rows); err != nil {
		return fmt.Errorf("spend recovery codes: %w", err)
	}
	return nil
}

// newRecoveryCodes replaces the account's codes with a new set and returns it, to be
// shown once.
func (s *Service) newRecoveryCodes(ctx context.Context, r *userRow) ([]string, error) {
	old, err := s.unusedRecoveryHashes(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	if err := s.markRecoveryUsed(ctx, r.ID, old); err != nil {
		return nil, err
	}
	codes := make([]string, RecoveryCodeCount)
	rows := make([][]any, RecoveryCodeCount)
	now := s.now().UTC()
	for i := range codes {
		codes[i] = newRecoveryCode()
		rows[i] = []any{r.ID, hashToken(normalRecoveryCode(codes[i])), now, uint8(0), s.nextVersion()}
	}
	if err := s.db.Insert(ctx, "totp_recovery_codes", []string{"user_id", "code_hash", "created", "used", "version"}, rows); err != nil {
		return nil, fmt.Errorf("store recovery codes: %w", err)
	}
	s.audit(ctx, r.Email, "recovery_codes_new", r.Email, "", "")
	return codes, nil
}

// useRecoveryCode spends code if it is one of the account's unspent codes. The
// in-memory guard makes two parallel sign-ins with one code spend it once.
func (s *Service) useRecoveryCode(ctx context.Context, r *userRow, code string) (bool, error) {
	c := normalRecoveryCode(code)
	if len(c) != 10 {
		return false, nil
	}
	h := hashToken(c)
	unused, err := s.unusedRecoveryHashes(ctx, r.ID)
	if err != nil {
		return false, err
	}
	found := false
	for _, u := range unused {
		found = found || u == h
	}
	if !found {
		return false, nil
	}
	if _, spent := s.recoveryUsed.LoadOrStore(h, true); spent {
		return false, nil
	}
	if err := s.markRecoveryUsed(ctx, r.ID, []string{h}); err != nil {
		return false, err
	}
	s.audit(ctx, r.Email, "recovery_code_used", r.Email, "left="+strconv.Itoa(len(unused)-1), "")
	return true, nil
}

// RecoveryCodesLeft is how many unspent recovery codes the account has.
func (s *Service) RecoveryCodesLeft(ctx context.Context, u *User) (int, error) {
	h, err := s.unusedRecoveryHashes(ctx, u.ID)
	return len(h), err
}

// NewRecoveryCodes replaces the caller's recovery codes, with a current authenticator
// code (or an unspent recovery code) as proof, and returns the new set to show once.
func (s *Service) NewRecoveryCodes(ctx context.Context, u *User, code string) ([]string, error) {
	r, err := userByID(ctx, s.db, u.ID)
	if err != nil {
		return nil, err
	}
	if r.TOTPSecret == "" {
		return nil, invalidf("turn two-factor sign-in on first")
	}
	if err := s.secondFactor(ctx, r, code); err != nil {
		return nil, err
	}
	return s.newRecoveryCodes(ctx, r)
}

// secondFactor accepts a current authenticator code or an unspent recovery code.
func (s *Service) secondFactor(ctx context.Context, r *userRow, code string) error {
	if s.validCode(r.ID, r.TOTPSecret, code) {
		return nil
	}
	ok, err := s.useRecoveryCode(ctx, r, code)
	if err != nil {
		return err
	}
	if !ok {
		return ErrTOTPWrong
	}
	return nil
}

// RecoveryCodesOf returns the recovery codes made while this request turned two-factor
// sign-in on (an enrolment at sign-in), to be shown once; nil when none were.
func RecoveryCodesOf(c *fiber.Ctx) []string {
	codes, _ := c.Locals(localRecovery).([]string)
	return codes
}
