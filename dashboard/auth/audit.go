package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/websystems/loendur/internal/store"
)

// AuditEntry is one line of the audit log. It never holds a secret.
type AuditEntry struct {
	Time    time.Time `ch:"time" json:"time"`
	Actor   string    `ch:"actor" json:"actor"`   // email or "cli"; at a failed login the account tried, empty when unknown
	Action  string    `ch:"action" json:"action"` // login, login_failed, logout, user_add, site_update, key_add, ...
	Target  string    `ch:"target" json:"target"` // the account, site or key acted on
	Detail  string    `ch:"detail" json:"detail"`
	Address string    `ch:"address" json:"address"` // truncated client address, for logins
}

var auditColumns = []string{"time", "seq", "actor", "action", "target", "detail", "address"}

func writeAudit(ctx context.Context, db store.Store, e AuditEntry) error {
	now := time.Now()
	if e.Time.IsZero() {
		e.Time = now
	}
	row := []any{e.Time.UTC(), uint64(now.UnixNano()), e.Actor, e.Action, e.Target, e.Detail, e.Address}
	if err := db.Insert(ctx, "audit_log", auditColumns, [][]any{row}); err != nil {
		return fmt.Errorf("write audit log: %w", err)
	}
	return nil
}

// audit records an action. A failure is logged, not returned: the action itself has
// happened by then and the caller cannot undo it.
func (s *Service) audit(ctx context.Context, actor, action, target, detail, addr string) {
	e := AuditEntry{Time: s.now(), Actor: actor, Action: action, Target: target, Detail: detail, Address: addr}
	if err := writeAudit(ctx, s.db, e); err != nil {
		s.log.Error("audit log", "action", action, "err", err)
	}
}

// Audit records an action done outside this package (site changes).
func (s *Service) Audit(ctx context.Context, actor *User, action, target, detail string) {
	s.audit(ctx, actor.Email, action, target, detail, "")
}

// ListAudit returns the newest entries first, at most limit.
func (s *Service) ListAudit(ctx context.Context, limit int) ([]AuditEntry, error) {
	limit = min(max(limit, 1), 1000)
	var rows []AuditEntry
	err := s.db.Select(ctx, &rows, `SELECT time, actor, action, target, detail, address FROM audit_log
		ORDER BY time DESC, seq DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return rows, nil
}
