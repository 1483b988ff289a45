// Package auth owns who may use the dashboard: staff accounts (argon2id passwords,
// roles, site assignments), server-side sessions with CSRF tokens, login throttling,
// TOTP, API keys and the audit log, plus the Fiber middleware that puts the caller on
// the request. Everything is stored in ClickHouse through internal/store.
package auth

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/websystems/loendur/internal/privacy"
	"github.com/websystems/loendur/internal/store"
)

// Role is what an account may do.
type Role string

const (
	// RoleAdmin reads every site and manages sites, users and the audit log.
	RoleAdmin Role = "admin"
	// RoleManager reads the sites assigned to it and nothing else.
	RoleManager Role = "manager"
)

// User is a staff account as the rest of the dashboard sees it.
type User struct {
	ID           string    `json:"id"`
	Email        string    `json:"email"`
	Role         Role      `json:"role"`
	Sites        []string  `json:"sites"`
	TOTPRequired bool      `json:"totp_required"`
	TOTPEnabled  bool      `json:"totp_enabled"`
	Disabled     bool      `json:"disabled"`
	Created      time.Time `json:"created"`
}

// CanRead reports whether u may see the reports of site: admins every site, managers
// only their assigned ones.
func (u *User) CanRead(site string) bool {
	if u == nil || u.Disabled {
		return false
	}
	return u.Role == RoleAdmin || slices.Contains(u.Sites, site)
}

// IsAdmin reports whether u is an enabled admin.
func (u *User) IsAdmin() bool { return u != nil && !u.Disabled && u.Role == RoleAdmin }

// Errors callers map to answers; messages wrapped around them are meant for the user.
var (
	ErrInvalid     = errors.New("invalid input")
	ErrNotFound    = errors.New("not found")
	ErrForbidden   = errors.New("forbidden")
	ErrCredentials = errors.New("wrong email or password")
	ErrDisabled    = errors.New("this account is disabled; ask an admin")
	ErrTOTPNeeded  = errors.New("enter the 6-digit code from your authenticator app")
	ErrTOTPWrong   = errors.New("wrong or already used authenticator code")
)

// invalidf makes an ErrInvalid whose message tells the user what to fix.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Options configure a Service.
type Options struct {
	DB     store.Store
	Log    *slog.Logger
	Now    func() time.Time // injected in tests; time.Now by default
	Secure bool             // cookies get the Secure attribute (served behind TLS)
	// ClientIP returns the caller's address, e.g. resolved behind trusted proxies.
	// Default: the connection's address (Fiber's c.IP()).
	ClientIP func(c *fiber.Ctx) netip.Addr
}

// Service holds the state auth keeps in memory: login throttles, TOTP replay guards and
// the version clock for user rows. One per process.
type Service struct {
	db       store.Store
	log      *slog.Logger
	now      func() time.Time
	secure   bool
	clientIP func(c *fiber.Ctx) netip.Addr
	throttle *throttle
	totpUsed sync.Map // user id → last accepted TOTP step (int64), against code replay
	// recoveryUsed holds the hashes of recovery codes spent by this process, so two
	// parallel sign-ins cannot both spend one before the table shows it.
	recoveryUsed sync.Map
	hashes       chan struct{}
	version      atomic.Uint64
}

// New returns a Service.
func New(opts Options) (*Service, error) {
	if opts.DB == nil {
		return nil, errors.New("auth: Options.DB is required")
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ClientIP == nil {
		opts.ClientIP = connIP
	}
	s := &Service{db: opts.DB, log: opts.Log, now: opts.Now, secure: opts.Secure, clientIP: opts.ClientIP,
		throttle: newThrottle(opts.Now), hashes: newHashLimiter()}
	return s, nil
}

func connIP(c *fiber.Ctx) netip.Addr {
	a, _ := netip.ParseAddr(c.IP())
	return a
}

// nextVersion orders row versions written by this process even within one clock tick.
// It uses the real clock, not the injected one, so a test clock set in the past cannot
// write versions older than existing rows.
func (s *Service) nextVersion() uint64 {
	for {
		last := s.version.Load()
		v := max(uint64(time.Now().UnixNano()), last+1)
		if s.version.CompareAndSwap(last, v) {
			return v
		}
	}
}

// storedAddr is the form of a client address that may be written to the audit log:
// truncated like visitors' addresses, because staff are people too.
func storedAddr(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	t, _ := privacy.NewTruncator(privacy.DefaultV4Bits, privacy.DefaultV6Bits)
	return t.Truncate(a).String()
}
