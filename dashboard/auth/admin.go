package auth

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ListUsers returns every live account, by email.
func (s *Service) ListUsers(ctx context.Context) ([]*User, error) {
	rows, err := selectUsers(ctx, s.db, "")
	if err != nil {
		return nil, err
	}
	out := make([]*User, len(rows))
	for i := range rows {
		out[i] = rows[i].user()
	}
	return out, nil
}

// CreateUser adds an account on behalf of an admin; see createUser.
func (s *Service) CreateUser(ctx context.Context, actor *User, in NewUser) (*User, string, error) {
	if !actor.IsAdmin() {
		return nil, "", ErrForbidden
	}
	u, generated, err := createUser(ctx, s.db, in, s.nextVersion())
	if err != nil {
		return nil, "", err
	}
	s.audit(ctx, actor.Email, "user_add", u.Email, userDetail(u), "")
	return u, generated, nil
}

// UserChange is an admin's edit of an account; nil fields stay as they are.
type UserChange struct {
	Role          *Role     `json:"role"`
	Sites         *[]string `json:"sites"`
	TOTPRequired  *bool     `json:"totp_required"`
	Disabled      *bool     `json:"disabled"`
	ResetTOTP     bool      `json:"reset_totp"`     // the user lost their authenticator
	ResetPassword bool      `json:"reset_password"` // a new password is generated and returned once
	// KeepAPIKeys keeps the account's API keys working across ResetPassword. By
	// default a reset revokes them: whoever made the reset necessary may hold a key.
	KeepAPIKeys bool `json:"keep_api_keys"`
}

// UpdateUser applies ch to the account id. It returns the new password when
// ch.ResetPassword, else "".
func (s *Service) UpdateUser(ctx context.Context, actor *User, id string, ch UserChange) (*User, string, error) {
	if !actor.IsAdmin() {
		return nil, "", ErrForbidden
	}
	r, err := userByID(ctx, s.db, id)
	if err != nil {
		return nil, "", err
	}
	if r.ID == actor.ID && (ch.Disabled != nil && *ch.Disabled || ch.Role != nil && *ch.Role != RoleAdmin) {
		// Keeps at least one admin: the acting one cannot lock itself out.
		return nil, "", invalidf("you cannot disable or demote your own account")
	}
	password, changes, err := s.applyChange(ctx, r, ch)
	if err != nil {
		return nil, "", err
	}
	if err := writeUser(ctx, s.db, r, s.nextVersion()); err != nil {
		return nil, "", err
	}
	if ch.ResetPassword || ch.Disabled != nil && *ch.Disabled {
		if err := s.revokeUserSessions(ctx, r.ID); err != nil {
			return nil, "", err
		}
	}
	if ch.ResetPassword && !ch.KeepAPIKeys {
		if err := s.revokeKeys(ctx, actor.Email, r.ID, r.Email, "", "password reset"); err != nil {
			return nil, "", err
		}
	}
	s.audit(ctx, actor.Email, "user_update", r.Email, strings.Join(changes, " "), "")
	return r.user(), password, nil
}

// applyChange edits r in place and lists what changed, for the audit log.
func (s *Service) applyChange(ctx context.Context, r *userRow, ch UserChange) (string, []string, error) {
	var changes []string
	if ch.Role != nil {
		if err := validRole(*ch.Role); err != nil {
			return "", nil, err
		}
		r.Role = string(*ch.Role)
		changes = append(changes, "role="+r.Role)
	}
	if ch.Sites != nil || ch.Role != nil {
		want := r.Sites
		if ch.Sites != nil {
			want = *ch.Sites
		}
		list, err := siteList(ctx, s.db, Role(r.Role), want)
		if err != nil {
			return "", nil, err
		}
		r.Sites = list
		changes = append(changes, "sites="+strings.Join(list, ","))
	}
	if ch.TOTPRequired != nil {
		r.TOTPRequired = b2u(*ch.TOTPRequired)
		changes = append(changes, fmt.Sprintf("totp_required=%t", *ch.TOTPRequired))
	}
	if ch.Disabled != nil {
		r.Disabled = b2u(*ch.Disabled)
		changes = append(changes, fmt.Sprintf("disabled=%t", *ch.Disabled))
	}
	if ch.ResetTOTP {
		r.TOTPSecret, r.TOTPPending = "", ""
		changes = append(changes, "totp_reset")
	}
	if !ch.ResetPassword {
		return "", changes, nil
	}
	password := generatePassword()
	hash, err := s.hashPassword(password)
	if err != nil {
		return "", nil, err
	}
	r.PasswordHash = hash
	changes = append(changes, "password_reset")
	if ch.KeepAPIKeys {
		changes = append(changes, "api_keys_kept")
	}
	return password, changes, nil
}

// RemoveUser deletes the account id. Its sessions and keys stop working at once,
// because both resolve through the live account.
func (s *Service) RemoveUser(ctx context.Context, actor *User, id string) error {
	if !actor.IsAdmin() {
		return ErrForbidden
	}
	r, err := userByID(ctx, s.db, id)
	if err != nil {
		return err
	}
	if r.ID == actor.ID {
		return invalidf("you cannot remove your own account")
	}
	r.Deleted = 1
	if err := writeUser(ctx, s.db, r, s.nextVersion()); err != nil {
		return err
	}
	s.audit(ctx, actor.Email, "user_remove", r.Email, "", "")
	return nil
}

// GetUser returns the live account id, for an admin's page of it.
func (s *Service) GetUser(ctx context.Context, id string) (*User, error) {
	r, err := userByID(ctx, s.db, id)
	if err != nil {
		return nil, err
	}
	return r.user(), nil
}

// LastLogins is the time of each account's latest sign-in, by email. It is read from
// the audit log's "login" entries (kept as long as the log), not from sessions, which
// are deleted when they expire.
func (s *Service) LastLogins(ctx context.Context) (map[string]time.Time, error) {
	var rows []struct {
		Email string    `ch:"email"`
		Last  time.Time `ch:"last"`
	}
	if err := s.db.Select(ctx, &rows, `SELECT target AS email, max(time) AS last FROM audit_log
		WHERE action = 'login' GROUP BY target`); err != nil {
		return nil, fmt.Errorf("read last logins: %w", err)
	}
	out := make(map[string]time.Time, len(rows))
	for _, r := range rows {
		out[r.Email] = r.Last
	}
	return out, nil
}

// ForgetSite takes a deleted site off every manager's list, so their accounts stay
// editable (a list may only name registered sites).
func (s *Service) ForgetSite(ctx context.Context, actor *User, site string) error {
	if !actor.IsAdmin() {
		return ErrForbidden
	}
	rows, err := selectUsers(ctx, s.db, " AND has(sites, ?)", site)
	if err != nil {
		return err
	}
	for i := range rows {
		r := &rows[i]
		r.Sites = slices.DeleteFunc(r.Sites, func(x string) bool { return x == site })
		if err := writeUser(ctx, s.db, r, s.nextVersion()); err != nil {
			return err
		}
	}
	return nil
}
