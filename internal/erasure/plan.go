package erasure

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/literal"
)

// maxResolved bounds how many keys a selector may resolve to for tables that lack its
// column (they are matched by the event, session or visitor ids found in events).
const maxResolved = 1_000_000

// TablePlan is what an erasure does to one table: the rows its WHERE clause matches.
type TablePlan struct {
	Table string
	Where string // with ? placeholders for Args
	Args  []any
	Rows  uint64
}

// Plan is a previewed erasure: every table it touches and how many rows, the rollups
// to recompute and the period the matching events cover.
type Plan struct {
	Selector Selector
	Tables   []TablePlan
	Rollups  []Rollup
	Days     []string // UTC days of the matching events, for the rollups
	Events   uint64   // rows in the events table
	From, To time.Time
}

// Rows is the total over every table.
func (p Plan) Rows() uint64 {
	var n uint64
	for _, t := range p.Tables {
		n += t.Rows
	}
	return n
}

// resolved are the keys of the matching events, for tables without the selector's column.
type resolved struct {
	events   []uuid.UUID
	sessions []uint64
	visitors []uint64
}

// Preview finds every row the selector matches, in every table that holds event data.
func Preview(ctx context.Context, db store.Store, sel Selector) (Plan, error) {
	if err := sel.Validate(); err != nil {
		return Plan{}, err
	}
	cat, err := Discover(ctx, db)
	if err != nil {
		return Plan{}, err
	}
	eventsWhere, eventsArgs, err := eventsPredicate(cat, sel)
	if err != nil {
		return Plan{}, err
	}
	names := make([]string, len(cat.Erasable))
	for i, t := range cat.Erasable {
		names[i] = t.Name
	}
	// On a cluster, the counts below decide which tables are deleted from: they must
	// see a row that another collector's insert put on one replica a moment ago.
	if err := store.SyncReplicas(ctx, db, names...); err != nil {
		return Plan{}, fmt.Errorf("erasure: %w", err)
	}
	plan := Plan{Selector: sel, Rollups: cat.Rollups}
	var res *resolved
	for _, t := range cat.Erasable {
		where, args, ok := directPredicate(t, sel)
		if !ok {
			if res == nil {
				if res, err = resolve(ctx, db, eventsWhere, eventsArgs); err != nil {
					return Plan{}, err
				}
			}
			args = []any{sel.Site}
			if where, ok = derivedPredicate(t, res); !ok {
				return Plan{}, fmt.Errorf("erasure: table %s holds event data but has no column to match a %s selector by (needs %s or event_id, session_id, visitor_id)",
					t.Name, sel.Kind, strings.Join(selectorColumns(sel), ", "))
			}
		}
		tp := TablePlan{Table: t.Name, Where: where, Args: args}
		if tp.Rows, err = count(ctx, db, tp); err != nil {
			return Plan{}, err
		}
		plan.Tables = append(plan.Tables, tp)
		if t.Name == EventsTable {
			plan.Events = tp.Rows
		}
	}
	if plan.Events > 0 {
		var span []struct {
			From time.Time `ch:"lo"`
			To   time.Time `ch:"hi"`
		}
		if err := db.Select(ctx, &span, "SELECT min(timestamp) AS lo, max(timestamp) AS hi FROM events WHERE "+eventsWhere, eventsArgs...); err != nil {
			return Plan{}, fmt.Errorf("erasure: period of the matching events: %w", err)
		}
		if len(span) > 0 {
			plan.From, plan.To = span[0].From.UTC(), span[0].To.UTC()
		}
		var days []struct {
			D string `ch:"d"`
		}
		if err := db.Select(ctx, &days, "SELECT DISTINCT toString(toDate(timestamp)) AS d FROM events WHERE "+eventsWhere+" ORDER BY d", eventsArgs...); err != nil {
			return Plan{}, fmt.Errorf("erasure: days of the matching events: %w", err)
		}
		for _, d := range days {
			plan.Days = append(plan.Days, d.D)
		}
	}
	return plan, nil
}

func count(ctx context.Context, db store.Store, tp TablePlan) (uint64, error) {
	var rows []struct {
		N uint64 `ch:"n"`
	}
	if err := db.Select(ctx, &rows, "SELECT count() AS n FROM "+quoteIdent(tp.Table)+" WHERE "+tp.Where, tp.Args...); err != nil {
		return 0, fmt.Errorf("erasure: count rows in %s: %w", tp.Table, err)
	}
	if len(rows) == 0 {
		return 0, nil
	}
	return rows[0].N, nil
}

// selectorColumns are the columns a table needs to be matched by the selector itself.
func selectorColumns(sel Selector) []string {
	switch sel.Kind {
	case KindVisitor:
		return []string{"visitor_id"}
	case KindSession:
		return []string{"session_id"}
	case KindEvent:
		return []string{"event_id"}
	}
	cols := []string{"ip", "timestamp"}
	if sel.Page != "" {
		cols = append(cols, "pathname")
	}
	return cols
}

// eventsPredicate matches the selector in the events table.
func eventsPredicate(cat Catalog, sel Selector) (string, []any, error) {
	events, ok := cat.Table(EventsTable)
	if !ok {
		return "", nil, fmt.Errorf("erasure: no %s table in database %s", EventsTable, cat.Database)
	}
	where, args, ok := directPredicate(events, sel)
	if !ok {
		return "", nil, fmt.Errorf("erasure: the %s table cannot be matched by a %s selector", EventsTable, sel.Kind)
	}
	return where, args, nil
}

// directPredicate matches the selector on the table's own columns, when it has them.
func directPredicate(t Table, sel Selector) (string, []any, bool) {
	for _, c := range selectorColumns(sel) {
		if !t.Has(c) {
			return "", nil, false
		}
	}
	args := []any{sel.Site}
	var cond string
	switch sel.Kind {
	case KindVisitor:
		cond = "visitor_id IN " + literal.UInt64List(sel.Visitors)
	case KindSession:
		cond = "session_id IN " + literal.UInt64List(sel.Sessions)
	case KindEvent:
		cond = "event_id IN " + idList(sel.Events, t.Columns["event_id"])
	case KindIP:
		cond = "ip = ? AND timestamp >= ? AND timestamp <= ?"
		args = append(args, sel.IP, sel.From.UTC(), sel.To.UTC())
		if sel.Page != "" {
			cond += " AND pathname LIKE ?"
			args = append(args, literal.LikePattern(sel.Page))
		}
	}
	if sel.Kind != KindIP {
		window, wargs := timeWindow(t, sel)
		cond += window
		args = append(args, wargs...)
	}
	return "site = ? AND " + cond, args, true
}

// timeWindow bounds an id selector to its From/To on the table's time column, when it
// has them: the partitions (by month of that column) and the primary key (site, day, …)
// then limit what the count and the delete read, and engines that skip parts without
// a matching row leave the other partitions untouched.
func timeWindow(t Table, sel Selector) (string, []any) {
	col := t.TimeColumn()
	if col == "" || sel.From.IsZero() && sel.To.IsZero() {
		return "", nil
	}
	// A Date column compares with the day's text, a DateTime with the time.
	value := func(t time.Time) any { return t.UTC() }
	if t.Columns[col] == "Date" {
		value = func(t time.Time) any { return t.UTC().Format(time.DateOnly) }
	}
	var cond string
	var args []any
	if !sel.From.IsZero() {
		cond += " AND " + quoteIdent(col) + " >= ?"
		args = append(args, value(sel.From))
	}
	if !sel.To.IsZero() {
		cond += " AND " + quoteIdent(col) + " <= ?"
		args = append(args, value(sel.To))
	}
	return cond, args
}

// derivedPredicate matches a table that lacks the selector's column by the most
// specific key of the matching events it has. A derived row (a visit) that includes
// any matching event goes with it.
func derivedPredicate(t Table, r *resolved) (string, bool) {
	const none = "site = ? AND 0"
	switch {
	case t.Has("event_id"):
		if len(r.events) == 0 {
			return none, true
		}
		return "site = ? AND event_id IN " + idList(r.events, t.Columns["event_id"]), true
	case t.Has("session_id"):
		if len(r.sessions) == 0 {
			return none, true
		}
		return "site = ? AND session_id IN " + literal.UInt64List(r.sessions), true
	case t.Has("visitor_id"):
		if len(r.visitors) == 0 {
			return none, true
		}
		return "site = ? AND visitor_id IN " + literal.UInt64List(r.visitors), true
	}
	return "", false
}

// resolve reads the keys of the matching events.
func resolve(ctx context.Context, db store.Store, where string, args []any) (*resolved, error) {
	var rows []struct {
		EventID   uuid.UUID `ch:"event_id"`
		SessionID uint64    `ch:"session_id"`
		VisitorID uint64    `ch:"visitor_id"`
	}
	if err := db.Select(ctx, &rows, "SELECT event_id, session_id, visitor_id FROM events WHERE "+where+
		" LIMIT "+strconv.Itoa(maxResolved+1), args...); err != nil {
		return nil, fmt.Errorf("erasure: keys of the matching events: %w", err)
	}
	if len(rows) > maxResolved {
		return nil, fmt.Errorf("erasure: the selector matches more than %d events; narrow it", maxResolved)
	}
	r := &resolved{}
	seenS, seenV := map[uint64]bool{}, map[uint64]bool{}
	for _, row := range rows {
		r.events = append(r.events, row.EventID)
		if !seenS[row.SessionID] {
			seenS[row.SessionID] = true
			r.sessions = append(r.sessions, row.SessionID)
		}
		if !seenV[row.VisitorID] {
			seenV[row.VisitorID] = true
			r.visitors = append(r.visitors, row.VisitorID)
		}
	}
	return r, nil
}

// idList is the IN list of event ids for a column of type typ: UUIDs, or their text.
func idList(ids []uuid.UUID, typ string) string {
	if typ == "UUID" {
		return literal.UUIDList(ids)
	}
	text := make([]string, len(ids))
	for i, id := range ids {
		text[i] = id.String()
	}
	return literal.StringList(text)
}

// Matches reports whether an event (in the spool or queue, say) is one the selector names.
func (s Selector) Matches(ev *store.Event) bool {
	if ev.Site != s.Site {
		return false
	}
	if ts := ev.Timestamp.UTC().Truncate(time.Second); !s.From.IsZero() && ts.Before(s.From) || !s.To.IsZero() && ts.After(s.To) {
		return false
	}
	switch s.Kind {
	case KindVisitor:
		return containsUint(s.Visitors, ev.VisitorID)
	case KindSession:
		return containsUint(s.Sessions, ev.SessionID)
	case KindEvent:
		for _, id := range s.Events {
			if id == ev.EventID {
				return true
			}
		}
		return false
	case KindIP:
		ts := ev.Timestamp.UTC().Truncate(time.Second)
		if ev.IP != s.IP || ts.Before(s.From) || ts.After(s.To) {
			return false
		}
		return s.Page == "" || globMatch(s.Page, ev.Pathname)
	}
	return false
}

func containsUint(ns []uint64, n uint64) bool {
	for _, x := range ns {
		if x == n {
			return true
		}
	}
	return false
}

// globMatch matches a page pattern where * stands for anything (also across /), as
// LIKE with % does.
func globMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}
