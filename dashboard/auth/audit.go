package auth

import (
	"context"

	"github.com/websystems/loendur/internal/audit"
	"github.com/websystems/loendur/internal/store"
)

// AuditEntry is one line of the audit log (internal/audit owns the table).
type AuditEntry = audit.Entry

func writeAudit(ctx context.Context, db store.Store, e AuditEntry) error {
	return audit.Write(ctx, db, e)
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
	return audit.List(ctx, s.db, limit)
}
