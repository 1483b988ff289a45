package derived

import (
	"context"
	"embed"
	"fmt"
	"strings"
	"text/template"
	"time"

	"github.com/websystems/loendur/internal/privacy"
	"github.com/websystems/loendur/internal/store/literal"
)

// Timing of visits, as the collector defines them.
const (
	// FinalizeDelay is how long after its last event a visit is written to the sessions
	// table: the timeout plus time for events still on their way (queue, batch, retry).
	FinalizeDelay = privacy.SessionTimeout + 5*time.Minute
	// MaxVisitLength bounds how far back a visit's first event is looked for. A visit
	// longer than this (a tab left open and pinged all day) counts from its last 24 hours.
	MaxVisitLength = 24 * time.Hour
)

// VisitTable is the definition of the per-visit table: one row per ended visit, computed
// from its events by VisitSpan.Query, written by the Finalizer, with a progress table
// saying up to when (by a visit's last event) it is complete. Writing a visit again (two
// finalizers at once, or a rebuild) adds a row with a higher version.
type VisitTable struct {
	Name     string
	Progress string
	Columns  []Column // what VisitSpan.Query computes, in order; the table adds site and version
	Version  uint32   // the migration that creates the tables
}

// Visits is the sessions table. It holds visitor_id: erasure and retention reach it
// like the events table, and its rebuild recomputes what an erasure left of a visit.
var Visits = VisitTable{Name: SessionsTable, Progress: "sessions_progress", Version: 21, Columns: columnsOf(visitColumns)}

// visitColumn is one column VisitSpan.Query computes and the VisitRow field that holds it.
type visitColumn struct {
	Column
	value func(r *VisitRow) any // as the finalizer inserts it
}

// visitColumns is the one list of the sessions table's columns, in order: Visits.Columns,
// the table's DDL, the finalizer's inserts (VisitRow.Values) and the reports' reads
// (Computed) come from it. A column added here also needs its VisitRow field and its
// computation in sql/visits.sql.
var visitColumns = []visitColumn{
	{Column{"session_id", "UInt64"}, func(r *VisitRow) any { return r.SessionID }},
	{Column{"visitor_id", "UInt64"}, func(r *VisitRow) any { return r.VisitorID }},
	{Column{"start_time", "DateTime('UTC')"}, func(r *VisitRow) any { return r.StartTime.UTC() }},
	{Column{"end_time", "DateTime('UTC')"}, func(r *VisitRow) any { return r.EndTime.UTC() }},
	{Column{"pageviews", "UInt32"}, func(r *VisitRow) any { return r.Pageviews }},
	{Column{"events", "UInt32"}, func(r *VisitRow) any { return r.Events }},
	{Column{"engaged_ms", "UInt64"}, func(r *VisitRow) any { return r.EngagedMS }},
	{Column{"entry_page", "String"}, func(r *VisitRow) any { return r.EntryPage }},
	{Column{"exit_page", "String"}, func(r *VisitRow) any { return r.ExitPage }},
	{Column{"referrer_host", "String"}, func(r *VisitRow) any { return r.ReferrerHost }},
	{Column{"referrer_source", "String"}, func(r *VisitRow) any { return r.ReferrerSource }},
	{Column{"utm_source", "String"}, func(r *VisitRow) any { return r.UTMSource }},
	{Column{"utm_medium", "String"}, func(r *VisitRow) any { return r.UTMMedium }},
	{Column{"utm_campaign", "String"}, func(r *VisitRow) any { return r.UTMCampaign }},
	{Column{"country_code", "String"}, func(r *VisitRow) any { return r.CountryCode }},
	{Column{"region", "String"}, func(r *VisitRow) any { return r.Region }},
	{Column{"city", "String"}, func(r *VisitRow) any { return r.City }},
	{Column{"device", "String"}, func(r *VisitRow) any { return r.Device }},
	{Column{"browser", "String"}, func(r *VisitRow) any { return r.Browser }},
	{Column{"os", "String"}, func(r *VisitRow) any { return r.OS }},
	// seq_*: page views and custom events in order (name, path); eng_*: engagement
	// events (path, visible ms, scroll %).
	{Column{"seq_names", "Array(String)"}, func(r *VisitRow) any { return nonNil(r.SeqNames) }},
	{Column{"seq_paths", "Array(String)"}, func(r *VisitRow) any { return nonNil(r.SeqPaths) }},
	{Column{"eng_paths", "Array(String)"}, func(r *VisitRow) any { return nonNil(r.EngPaths) }},
	{Column{"eng_ms", "Array(UInt64)"}, func(r *VisitRow) any { return nonNil(r.EngMS) }},
	{Column{"eng_scroll", "Array(UInt64)"}, func(r *VisitRow) any { return nonNil(r.EngScroll) }},
}

func columnsOf(vcs []visitColumn) []Column {
	out := make([]Column, len(vcs))
	for i, c := range vcs {
		out[i] = c.Column
	}
	return out
}

// ColumnNames are the names of the stored columns: site, the computed ones, version.
func (v VisitTable) ColumnNames() []string {
	out := []string{"site"}
	for _, c := range v.Columns {
		out = append(out, c.Name)
	}
	return append(out, "version")
}

// Computed are the names of the columns VisitSpan.Query computes, in the table's
// order and comma-separated: a select list that lines up with the table's rows.
func (v VisitTable) Computed() string {
	names := v.ColumnNames()
	return strings.Join(names[1:len(names)-1], ", ")
}

// DDL renders the statements that create the table and its progress table on a single
// server (Deployment.render makes them a cluster's). Both have existed since migration
// 21 (then a .sql file); IF NOT EXISTS keeps an upgraded database's rows.
func (v VisitTable) DDL() []string {
	progress := "CREATE TABLE IF NOT EXISTS " + v.Progress + " (\n    site String,\n    done_until DateTime('UTC'),\n    version UInt64\n) ENGINE = ReplacingMergeTree(version)\nORDER BY site"
	return []string{v.tableDDL(v.Name, visitOrder), progress}
}

// visitOrder is the sort key of the sessions table: a site's days, then its visits.
const visitOrder = "(site, toDate(start_time), session_id)"

// tableDDL creates a table named name that holds visits as the sessions table does,
// sorted by order.
func (v VisitTable) tableDDL(name, order string) string {
	cols := []string{"    site String"}
	for _, c := range v.Columns {
		cols = append(cols, "    "+c.Name+" "+c.Type)
	}
	cols = append(cols, "    version UInt64")
	return "CREATE TABLE IF NOT EXISTS " + name + " (\n" + strings.Join(cols, ",\n") + "\n) ENGINE = " +
		"ReplacingMergeTree(version)\nPARTITION BY toYYYYMM(start_time)\nORDER BY " + order + "\nSETTINGS index_granularity = 8192"
}

func (v VisitTable) migration() Migration {
	return Migration{Version: v.Version, Name: fmt.Sprintf("%04d_%s.derived", v.Version, v.Name), Statements: v.DDL()}
}

// VisitSpan selects the visits VisitSpan.Query computes from events.
type VisitSpan struct {
	Site               string
	From, To           time.Time // events read
	EndFrom, EndTo     time.Time // visits whose last event is in [EndFrom, EndTo); EndTo zero: no bound
	StartFrom, StartTo time.Time // and whose first is in [StartFrom, StartTo); zero: no bound
	// Sample, when over 1, keeps only the visitors of VisitSample.WhereAt(Sample): the
	// reports' live part of a sampled period.
	Sample int
}

//go:embed sql/*.sql
var sqlFiles embed.FS

var queries = template.Must(template.New("").Funcs(template.FuncMap{"str": literal.Quote, "ts": literal.DateTime,
	"sampled": VisitSample.WhereAt}).ParseFS(sqlFiles, "sql/*.sql"))

// Query is the one computation of a visit from its events: one row per visit of the
// span, with the columns of Visits.Columns. The finalizer writes its rows, a rebuild
// inserts them, and the reports compute visits not yet written with it.
func (s VisitSpan) Query() string {
	var b strings.Builder
	if err := queries.ExecuteTemplate(&b, "visits.sql", s); err != nil {
		panic("derived: visits.sql: " + err.Error()) // only values of s enter, through str and ts
	}
	return b.String()
}

// Done is how far the sessions table of site is complete: every visit whose last event
// is before it is written. Zero when nothing is written yet.
func Done(ctx context.Context, db DB, site string) (time.Time, error) {
	var rows []struct {
		Done time.Time `ch:"done"`
	}
	if err := db.Select(ctx, &rows, "SELECT max(done_until) AS done FROM "+Visits.Progress+" WHERE site = ?", site); err != nil {
		return time.Time{}, fmt.Errorf("read sessions progress of %s: %w", site, err)
	}
	if len(rows) == 0 {
		return time.Time{}, nil
	}
	return rows[0].Done.UTC(), nil
}

// rebuild recomputes from events the written visits of site that started on the UTC
// days: after an erasure the rest of a visit is still a visit (fewer page views, another
// exit page), after a replayed batch a visit may have grown. Only visits that ended
// before the progress mark are touched, so a finalizer running meanwhile (it writes
// only visits that end after the mark) neither loses a visit nor writes one twice.
func (v VisitTable) rebuild(ctx context.Context, db DB, site string, days []time.Time, in string) error {
	done, err := Done(ctx, db, site)
	if err != nil || done.Unix() <= 0 {
		return err
	}
	// The sample gets the new rows through its view; its old ones go with the table's.
	for _, table := range []string{v.Name, VisitSample.Name} {
		if err := deleteWhere(ctx, db, table, "site = ? AND toDate(start_time) IN "+in+" AND end_time < ?",
			site, done.UTC()); err != nil {
			return err
		}
	}
	for _, day := range days {
		span := VisitSpan{Site: site, From: day.Add(-MaxVisitLength), To: day.Add(24*time.Hour + 2*MaxVisitLength),
			EndFrom: day, EndTo: done, StartFrom: day, StartTo: day.Add(24 * time.Hour)}
		if err := v.Insert(ctx, db, span); err != nil {
			return fmt.Errorf("rebuild: %w", err)
		}
	}
	return nil
}

// Insert writes the visits of span, computed in the database (INSERT … SELECT).
func (v VisitTable) Insert(ctx context.Context, db DB, span VisitSpan) error {
	q := "INSERT INTO " + v.Name + " (" + strings.Join(v.ColumnNames(), ", ") + ") SELECT " + literal.Quote(span.Site) + ", " +
		v.Computed() + ", toUInt64(" + fmt.Sprint(time.Now().UnixNano()) + ") FROM (" + span.Query() + ")"
	if err := db.Exec(ctx, q); err != nil {
		return fmt.Errorf("write visits of %s: %w", span.Site, err)
	}
	return nil
}
