package auth

import (
	"context"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/sites"
	"github.com/websystems/loendur/internal/store"
)

// userRow is one account as stored in the users table (newest version).
type userRow struct {
	ID           string    `ch:"id"`
	Email        string    `ch:"email"`
	PasswordHash string    `ch:"password_hash"`
	Role         string    `ch:"role"`
	Sites        []string  `ch:"sites"`
	TOTPSecret   string    `ch:"totp_secret"`
	TOTPPending  string    `ch:"totp_pending"`
	TOTPRequired uint8     `ch:"totp_required"`
	Disabled     uint8     `ch:"disabled"`
	Deleted      uint8     `ch:"deleted"`
	Created      time.Time `ch:"created"`
}

var userColumns = []string{"id", "email", "password_hash", "role", "sites", "totp_secret", "totp_pending",
	"totp_required", "disabled", "deleted", "created", "version"}

// latestUsers is the newest version of every account, removed ones included.
const latestUsers = `SELECT id, argMax(email, version) AS email, argMax(password_hash, version) AS password_hash,
	argMax(role, version) AS role, argMax(sites, version) AS sites, argMax(totp_secret, version) AS totp_secret,
	argMax(totp_pending, version) AS totp_pending, argMax(totp_required, version) AS totp_required,
	argMax(disabled, version) AS disabled, argMax(deleted, version) AS deleted, min(created) AS created
	FROM users GROUP BY id`

// selectUsers returns the live accounts matching cond (SQL on the columns above).
func selectUsers(ctx context.Context, db store.Store, cond string, args ...any) ([]userRow, error) {
	var rows []userRow
	q := "SELECT * FROM (" + latestUsers + ") WHERE deleted = 0" + cond + " ORDER BY email"
	if err := db.Select(ctx, &rows, q, args...); err != nil {
		return nil, fmt.Errorf("read users: %w", err)
	}
	return rows, nil
}

func selectUser(ctx context.Context, db store.Store, cond string, args ...any) (*userRow, error) {
	rows, err := selectUsers(ctx, db, cond, args...)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("user: %w", ErrNotFound)
	}
	return &rows[0], nil
}

func userByEmail(ctx context.Context, db store.Store, email string) (*userRow, error) {
	return selectUser(ctx, db, " AND email = ?", strings.ToLower(strings.TrimSpace(email)))
}

func userByID(ctx context.Context, db store.Store, id string) (*userRow, error) {
	return selectUser(ctx, db, " AND id = ?", id)
}

func writeUser(ctx context.Context, db store.Store, r *userRow, version uint64) error {
	sites := r.Sites
	if sites == nil {
		sites = []string{}
	}
	row := []any{r.ID, r.Email, r.PasswordHash, r.Role, sites, r.TOTPSecret, r.TOTPPending,
		r.TOTPRequired, r.Disabled, r.Deleted, r.Created, version}
	if err := db.Insert(ctx, "users", userColumns, [][]any{row}); err != nil {
		return fmt.Errorf("write user %s: %w", r.Email, err)
	}
	return nil
}

func (r *userRow) user() *User {
	return &User{ID: r.ID, Email: r.Email, Role: Role(r.Role), Sites: slices.Clone(r.Sites),
		TOTPRequired: r.TOTPRequired == 1, TOTPEnabled: r.TOTPSecret != "", Disabled: r.Disabled == 1,
		Created: r.Created}
}

// NewUser describes an account to create.
type NewUser struct {
	Email        string   `json:"email" form:"email"`
	Role         Role     `json:"role" form:"role"`
	Sites        []string `json:"sites" form:"sites"`
	Password     string   `json:"password" form:"password"` // empty: one is generated
	TOTPRequired bool     `json:"totp_required" form:"totp_required"`
}

// createUser validates and stores a new account. It returns the generated password when
// in.Password was empty (to be shown once), else "".
func createUser(ctx context.Context, db store.Store, in NewUser, version uint64) (*User, string, error) {
	email, err := normalizeEmail(in.Email)
	if err != nil {
		return nil, "", err
	}
	if err := validRole(in.Role); err != nil {
		return nil, "", err
	}
	assigned, err := siteList(ctx, db, in.Role, in.Sites)
	if err != nil {
		return nil, "", err
	}
	if _, err := userByEmail(ctx, db, email); err == nil {
		return nil, "", invalidf("an account for %s exists already", email)
	}
	generated := ""
	if in.Password == "" {
		generated = generatePassword()
		in.Password = generated
	}
	hash, err := hashPassword(in.Password)
	if err != nil {
		return nil, "", err
	}
	r := &userRow{ID: uuid.NewString(), Email: email, PasswordHash: hash, Role: string(in.Role), Sites: assigned,
		TOTPRequired: b2u(in.TOTPRequired), Created: time.Now().UTC().Truncate(time.Second)}
	if err := writeUser(ctx, db, r, version); err != nil {
		return nil, "", err
	}
	return r.user(), generated, nil
}

// AddUser creates an account for the CLI (`loendur user add`). An empty password makes
// one up and returns it, to be printed once. sites are ignored for admins.
func AddUser(ctx context.Context, db store.Store, email string, role Role, sites []string, password string) (*User, string, error) {
	u, generated, err := createUser(ctx, db, NewUser{Email: email, Role: role, Sites: sites, Password: password},
		uint64(time.Now().UnixNano()))
	if err != nil {
		return nil, "", err
	}
	err = writeAudit(ctx, db, AuditEntry{Actor: "cli", Action: "user_add", Target: u.Email, Detail: userDetail(u)})
	return u, generated, err
}

// EnsureAdmin makes sure an enabled admin exists, for `make run`'s first start: when
// there is none it creates email as admin with a generated password and returns it
// (created true); otherwise it changes nothing.
func EnsureAdmin(ctx context.Context, db store.Store, email string) (password string, created bool, err error) {
	admins, err := selectUsers(ctx, db, " AND role = 'admin' AND disabled = 0")
	if err != nil {
		return "", false, err
	}
	if len(admins) > 0 {
		return "", false, nil
	}
	_, password, err = AddUser(ctx, db, email, RoleAdmin, nil, "")
	if err != nil {
		return "", false, fmt.Errorf("create first admin: %w", err)
	}
	return password, true, nil
}

func normalizeEmail(raw string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(raw))
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || len(e) > 254 {
		return "", invalidf("%q is not an email address such as name@example.com", raw)
	}
	return e, nil
}

func validRole(r Role) error {
	if r != RoleAdmin && r != RoleManager {
		return invalidf("role must be %q or %q", RoleAdmin, RoleManager)
	}
	return nil
}

// siteList normalises a manager's sites and checks each is registered, so a typo does
// not silently grant nothing. Admins read every site and keep no list.
func siteList(ctx context.Context, db store.Store, role Role, raw []string) ([]string, error) {
	if role == RoleAdmin {
		return []string{}, nil
	}
	known, err := registeredSites(ctx, db)
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, s := range raw {
		for _, part := range strings.Split(s, ",") {
			if strings.TrimSpace(part) == "" {
				continue
			}
			d, err := sites.NormalizeDomain(part)
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
			}
			if !slices.Contains(known, d) {
				return nil, invalidf("site %s is not registered", d)
			}
			if !slices.Contains(out, d) {
				out = append(out, d)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// registeredSites reads the sites table directly: the CLI has no sites.Registry.
func registeredSites(ctx context.Context, db store.Store) ([]string, error) {
	var rows []struct {
		Domain string `ch:"domain"`
	}
	err := db.Select(ctx, &rows, `SELECT domain FROM (SELECT domain, argMax(deleted, version) AS deleted
		FROM sites GROUP BY domain) WHERE deleted = 0`)
	if err != nil {
		return nil, fmt.Errorf("read sites: %w", err)
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Domain
	}
	return out, nil
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

func userDetail(u *User) string {
	d := "role=" + string(u.Role)
	if len(u.Sites) > 0 {
		d += " sites=" + strings.Join(u.Sites, ",")
	}
	if u.TOTPRequired {
		d += " totp_required"
	}
	return d
}

// SiteReaders lists the enabled accounts that may read site's reports: every admin and
// the managers assigned to it (the privacy notice says who sees a site's statistics).
func SiteReaders(ctx context.Context, db store.Store, site string) ([]*User, error) {
	rows, err := selectUsers(ctx, db, " AND disabled = 0 AND (role = 'admin' OR has(sites, ?))", site)
	if err != nil {
		return nil, err
	}
	out := make([]*User, len(rows))
	for i := range rows {
		out[i] = rows[i].user()
	}
	return out, nil
}
