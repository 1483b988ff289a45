// Package audit owns the audit log (schema/0013_audit_log.sql): who did what to which
// account, site, key or data subject's events. Every line is written through Write,
// so the table's column list lives here only.
package audit

import (
	"context"
	"fmt"
	"time"

	"github.com/websystems/loendur/internal/store"
)

// Table is the audit log's table.
const Table = "audit_log"

// Entry is one line of the audit log. It never holds a secret.
type Entry struct {
	Time    time.Time `ch:"time" json:"time"`     // zero: now
	Actor   string    `ch:"actor" json:"actor"`   // email, "cli", "restore"; at a failed login the account tried, empty when unknown
	Action  string    `ch:"action" json:"action"` // login, login_failed, user_add, site_update, key_add, erasure, ...
	Target  string    `ch:"target" json:"target"` // the account, site or key acted on
	Detail  string    `ch:"detail" json:"detail"`
	Address string    `ch:"address" json:"address"` // truncated client address, for logins
}

var columns = []string{"time", "seq", "actor", "action", "target", "detail", "address"}

// Write appends e. Its seq is the wall clock in nanoseconds, so lines of one second
// list in the order they were written.
func Write(ctx context.Context, db store.Store, e Entry) error {
	now := time.Now()
	if e.Time.IsZero() {
		e.Time = now
	}
	row := []any{e.Time.UTC(), uint64(now.UnixNano()), e.Actor, e.Action, e.Target, e.Detail, e.Address}
	if err := db.Insert(ctx, Table, columns, [][]any{row}); err != nil {
		return fmt.Errorf("write audit log (%s): %w", e.Action, err)
	}
	return nil
}

// List returns the newest entries first, at most limit (1 to 1000).
func List(ctx context.Context, db store.Store, limit int) ([]Entry, error) {
	limit = min(max(limit, 1), 1000)
	var rows []Entry
	if err := db.Select(ctx, &rows, `SELECT time, actor, action, target, detail, address FROM audit_log
		ORDER BY time DESC, seq DESC LIMIT ?`, limit); err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return rows, nil
}
