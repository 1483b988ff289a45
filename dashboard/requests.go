package dashboard

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/dashboard/web"
	"github.com/websystems/loendur/internal/erasure"
	"github.com/websystems/loendur/internal/httperr"
	"github.com/websystems/loendur/internal/sites"
)

// Data requests: staff-run access (export) and erasure requests of data subjects,
// for admins. Every step is a POST, so the selector (a visitor id, an address) never
// lands in a URL, a browser history or an access log; the slog log gets the site and
// the selector kind only.

const (
	// maxRequestIDs bounds the ids of one request.
	maxRequestIDs = 1000
	// eraseTimeout bounds one erasure: deletes, waiting for them, verifying, recomputing
	// the rollups. It runs detached from the request, so a closed tab cannot stop it
	// half-way.
	eraseTimeout = 15 * time.Minute
	// ledgerShown is how many ledger entries the page lists, newest first.
	ledgerShown = 300
	// auditExport is the audit action of an export.
	auditExport = "data_export"
)

// requestInput is a data request as the form or the JSON API sends it. Only the
// fields of Kind are read.
type requestInput struct {
	Site string   `json:"site"`
	Kind string   `json:"kind"` // visitor, session, event, ip
	IDs  []string `json:"ids"`  // visitor, session or event ids
	IP   string   `json:"ip"`   // full or truncated; truncated as ingestion does
	From string   `json:"from"` // RFC 3339 or YYYY-MM-DD (UTC)
	To   string   `json:"to"`   // inclusive; a bare date is the whole day
	Page string   `json:"page"` // pathname pattern, * matches anything (ip only)
	// Format of an export: json or csv.
	Format string `json:"format,omitempty"`
	// Confirm must be true for an erasure.
	Confirm bool `json:"confirm,omitempty"`
}

// requestForm reads the form of the page; ids may be separated by commas, spaces or
// new lines.
func requestForm(c *fiber.Ctx) requestInput {
	return requestInput{Site: c.FormValue("site"), Kind: c.FormValue("kind"), IDs: splitIDs(c.FormValue("ids")),
		IP: c.FormValue("ip"), From: c.FormValue("from"), To: c.FormValue("to"), Page: c.FormValue("page"),
		Format: c.FormValue("format"), Confirm: c.FormValue("confirm") != ""}
}

func splitIDs(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\t' || r == '\n' || r == '\r' })
}

// selector turns the input into a validated selector.
func (d *Dashboard) selector(in requestInput) (erasure.Selector, error) {
	invalid := func(format string, args ...any) error {
		return httperr.Invalid(format, args...)
	}
	domain, err := sites.NormalizeDomain(strings.TrimSpace(in.Site))
	if in.Site == "" || err != nil {
		return erasure.Selector{}, invalid("choose a site")
	}
	if _, ok := d.opts.Sites.Lookup(domain); !ok {
		return erasure.Selector{}, invalid("site %s is not registered", domain)
	}
	sel := erasure.Selector{Site: domain, Kind: erasure.Kind(in.Kind)}
	var ids []string
	for _, id := range in.IDs {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	if len(ids) > maxRequestIDs {
		return sel, invalid("at most %d ids per request", maxRequestIDs)
	}
	switch sel.Kind {
	case erasure.KindVisitor, erasure.KindSession:
		if len(ids) == 0 {
			return sel, invalid("give one or more %s ids", sel.Kind)
		}
		nums := make([]uint64, 0, len(ids))
		for _, id := range ids {
			n, err := strconv.ParseUint(id, 10, 64)
			if err != nil {
				return sel, invalid("%s ids are decimal numbers, as /api/me shows them", sel.Kind)
			}
			if !slices.Contains(nums, n) {
				nums = append(nums, n)
			}
		}
		if sel.Kind == erasure.KindVisitor {
			sel.Visitors = nums
		} else {
			sel.Sessions = nums
		}
	case erasure.KindEvent:
		if len(ids) == 0 {
			return sel, invalid("give one or more event ids")
		}
		for _, id := range ids {
			u, err := uuid.Parse(id)
			if err != nil {
				return sel, invalid("event ids are UUIDs such as 0190a5c2-7b1e-7c3a-9f2d-3b5e8c1d2a4f")
			}
			if !slices.Contains(sel.Events, u) {
				sel.Events = append(sel.Events, u)
			}
		}
	case erasure.KindIP:
		if sel.IP, err = erasure.TruncateIP(in.IP, d.opts.Truncator); err != nil {
			return sel, invalid("the address is not an IPv4 or IPv6 address")
		}
		if in.From == "" || in.To == "" {
			return sel, invalid("an address needs a time window: from and to")
		}
		if sel.From, err = parseRequestTime(in.From, false); err != nil {
			return sel, invalid("from: %v", err)
		}
		if sel.To, err = parseRequestTime(in.To, true); err != nil {
			return sel, invalid("to: %v", err)
		}
		if sel.To.Before(sel.From) {
			return sel, invalid("the window ends before it starts")
		}
		sel.Page = strings.TrimSpace(in.Page)
	default:
		return sel, invalid("choose what identifies the person: visitor id, session id, address and time window, or event id")
	}
	if err := sel.Validate(); err != nil {
		return sel, invalid("%s", strings.TrimPrefix(err.Error(), "erasure: "))
	}
	return sel, nil
}

// parseRequestTime reads what erasure.ParseTime reads, plus a browser's
// datetime-local value (YYYY-MM-DDTHH:MM, taken as UTC; as an end, the whole minute).
func parseRequestTime(s string, end bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02 15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			if end {
				t = t.Add(time.Minute - time.Second)
			}
			return t, nil
		}
	}
	return erasure.ParseTime(s, end)
}

// selectorFields are the form fields that carry a previewed selector into the export
// and erase forms, so what is exported or erased is exactly what was previewed.
func selectorFields(sel erasure.Selector) requestInput {
	in := requestInput{Site: sel.Site, Kind: string(sel.Kind), IP: sel.IP, Page: sel.Page}
	for _, n := range sel.Visitors {
		in.IDs = append(in.IDs, strconv.FormatUint(n, 10))
	}
	for _, n := range sel.Sessions {
		in.IDs = append(in.IDs, strconv.FormatUint(n, 10))
	}
	for _, id := range sel.Events {
		in.IDs = append(in.IDs, id.String())
	}
	if sel.Kind == erasure.KindIP {
		in.From, in.To = sel.From.UTC().Format(time.RFC3339), sel.To.UTC().Format(time.RFC3339)
	}
	return in
}

// tableCount is one table's matching rows.
type tableCount struct {
	Table string `json:"table"`
	Rows  uint64 `json:"rows"`
}

// previewView is a previewed request.
type previewView struct {
	Site        string       `json:"site"`
	Kind        string       `json:"kind"`
	Description string       `json:"selector"`
	Events      uint64       `json:"events"`
	Rows        uint64       `json:"rows"`
	From        *time.Time   `json:"from,omitempty"`
	To          *time.Time   `json:"to,omitempty"`
	Tables      []tableCount `json:"tables"`
	Fields      requestInput `json:"-"`
	IDs         string       `json:"-"` // Fields.IDs for a hidden field
}

func previewOf(plan erasure.Plan) *previewView {
	sel := plan.Selector
	p := &previewView{Site: sel.Site, Kind: string(sel.Kind), Description: sel.String(), Events: plan.Events,
		Rows: plan.Rows(), Tables: []tableCount{}, Fields: selectorFields(sel)}
	p.IDs = strings.Join(p.Fields.IDs, ",")
	if plan.Events > 0 {
		from, to := plan.From, plan.To
		p.From, p.To = &from, &to
	}
	for _, t := range plan.Tables {
		p.Tables = append(p.Tables, tableCount{Table: t.Table, Rows: t.Rows})
	}
	return p
}

// erasureView is what an erasure did.
type erasureView struct {
	ID          string       `json:"id"`
	Site        string       `json:"site"`
	Kind        string       `json:"kind"`
	Events      uint64       `json:"events"`
	Rows        uint64       `json:"rows"`
	Spooled     int          `json:"spooled"`
	Tables      []tableCount `json:"tables"`
	Verified    bool         `json:"verified"` // every table was counted again and holds none
	RequestedBy string       `json:"requested_by"`
}

// ledgerEntry is a line of the erasure ledger as staff see it: without the selector,
// which names a person.
type ledgerEntry struct {
	ID          string    `json:"id"`
	Time        time.Time `json:"time"`
	Site        string    `json:"site"`
	Kind        string    `json:"kind"`
	Events      uint64    `json:"events"`
	RequestedBy string    `json:"requested_by"`
}

// requestsView is what the Data requests page shows.
type requestsView struct {
	Input   requestInput
	IDs     string
	Preview *previewView
	Erased  *erasureView
	Ledger  []ledgerEntry
}

// ledger lists the erasure ledger newest first, at most limit entries.
func (d *Dashboard) ledger(ctx context.Context, limit int) ([]ledgerEntry, error) {
	entries, err := erasure.Ledger(ctx, d.opts.DB)
	if err != nil {
		return nil, err
	}
	out := make([]ledgerEntry, 0, min(len(entries), limit))
	for i := len(entries) - 1; i >= 0 && len(out) < limit; i-- {
		e := entries[i]
		out = append(out, ledgerEntry{ID: e.ID, Time: e.Time, Site: e.Site, Kind: e.Kind, Events: e.RowsErased, RequestedBy: e.RequestedBy})
	}
	return out, nil
}

// preview counts the rows the request matches in every table.
func (d *Dashboard) preview(ctx context.Context, sel erasure.Selector) (erasure.Plan, error) {
	plan, err := erasure.Preview(ctx, d.opts.DB, sel)
	if err != nil {
		return plan, d.requestFailed("preview", sel, err)
	}
	return plan, nil
}

// export writes the matching events and records the export in the audit log.
func (d *Dashboard) export(ctx context.Context, actor *auth.User, sel erasure.Selector, format string) ([]byte, int, error) {
	if format == "" {
		format = "json"
	}
	if format != "json" && format != "csv" {
		return nil, 0, httperr.Invalid("export format must be json or csv")
	}
	var b bytes.Buffer
	n, err := erasure.Export(ctx, d.opts.DB, sel, format, &b)
	if err != nil {
		return nil, 0, d.requestFailed("export", sel, err)
	}
	d.auth.Audit(ctx, actor, auditExport, sel.Site, fmt.Sprintf("%s: %d events as %s", sel, n, format))
	return b.Bytes(), n, nil
}

// erase previews the request again (rows may have arrived since the preview), erases
// it from every table and the collector's spool, waits for the deletes, verifies and
// records it (ledger and audit log, by the admin's email).
func (d *Dashboard) erase(ctx context.Context, actor *auth.User, sel erasure.Selector) (*erasureView, error) {
	d.erasing.Lock()
	defer d.erasing.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), eraseTimeout)
	defer cancel()
	if err := d.waitQueued(ctx); err != nil {
		return nil, d.requestFailed("erase: storing queued events", sel, err)
	}
	plan, err := erasure.Preview(ctx, d.opts.DB, sel)
	if err != nil {
		return nil, d.requestFailed("erase: preview", sel, err)
	}
	opts := erasure.Options{RequestedBy: actor.Email, Now: d.opts.Now}
	if d.opts.Spool != nil { // a nil *spool.Spool in the interface would not be nil
		opts.Spool = d.opts.Spool
	}
	res, err := erasure.Apply(ctx, d.opts.DB, plan, opts)
	if err != nil {
		return nil, d.requestFailed("erase", sel, err)
	}
	v := &erasureView{ID: res.ID, Site: sel.Site, Kind: string(sel.Kind), Events: res.Events, Rows: res.Rows,
		Spooled: res.Spooled, Tables: previewOf(plan).Tables, Verified: true, RequestedBy: actor.Email}
	d.log.Info("data request erased", "site", sel.Site, "kind", string(sel.Kind), "events", res.Events,
		"rows", res.Rows, "spooled", res.Spooled, "ledger", res.ID)
	return v, nil
}

// waitQueued has the collector store or spool what it accepted before the erasure, so
// the delete finds it; nothing is erased when that fails, since the erasure would be
// reported verified while an event of the person could still land after it.
func (d *Dashboard) waitQueued(ctx context.Context) error {
	if d.opts.Queue == nil {
		return nil
	}
	if err := d.opts.Queue.WaitQueued(ctx); err != nil {
		return fmt.Errorf("wait for the collector's queue: %w", err)
	}
	return nil
}

// requestFailed logs a failed step without the selector's values (ids, the address)
// and returns an error that tells the person the step failed.
func (d *Dashboard) requestFailed(step string, sel erasure.Selector, err error) error {
	if httperr.Public(err) {
		return err
	}
	d.log.Error("data request failed", "step", step, "site", sel.Site, "kind", string(sel.Kind), "err", redact(err.Error(), sel))
	// No cause attached: its text may hold the selector's values.
	return httperr.New(fiber.StatusInternalServerError, "",
		"the "+step+" failed on our side (details in the server log); nothing was reported as done, try again or tell an admin")
}

// redact removes the selector's values from a message: database errors may quote the
// query, which lists the ids.
func redact(msg string, sel erasure.Selector) string {
	var vals []string
	for _, n := range sel.Visitors {
		vals = append(vals, strconv.FormatUint(n, 10))
	}
	for _, n := range sel.Sessions {
		vals = append(vals, strconv.FormatUint(n, 10))
	}
	for _, id := range sel.Events {
		vals = append(vals, id.String())
	}
	if sel.IP != "" {
		vals = append(vals, sel.IP)
	}
	if sel.Page != "" {
		vals = append(vals, sel.Page)
	}
	// Longest first, so a value inside another is not left half-replaced.
	slices.SortFunc(vals, func(a, b string) int { return len(b) - len(a) })
	for _, v := range vals {
		msg = strings.ReplaceAll(msg, v, "[redacted]")
	}
	return msg
}

// --- pages ---

func (d *Dashboard) requestsView(c *fiber.Ctx) *view {
	v := d.newView(c, "Data requests")
	for _, s := range d.readableSites(v.User) {
		v.AllSites = append(v.AllSites, s.Domain)
	}
	v.Requests = &requestsView{}
	return v
}

func (d *Dashboard) renderRequests(c *fiber.Ctx, status int, v *view) error {
	entries, err := d.ledger(c.UserContext(), ledgerShown)
	if err != nil {
		d.log.Error("read the erasure ledger", "err", err)
		if v.Error == "" {
			v.Error = "the erasure ledger could not be read"
		}
	}
	v.Requests.Ledger = entries
	v.Requests.IDs = strings.Join(v.Requests.Input.IDs, "\n")
	return d.render(c, status, "requests", v)
}

func (d *Dashboard) requestsPage(c *fiber.Ctx) error {
	return d.renderRequests(c, fiber.StatusOK, d.requestsView(c))
}

func (d *Dashboard) previewRequestPage(c *fiber.Ctx) error {
	v := d.requestsView(c)
	in := requestForm(c)
	v.Requests.Input = in
	sel, err := d.selector(in)
	if err == nil {
		var plan erasure.Plan
		if plan, err = d.preview(c.UserContext(), sel); err == nil {
			v.Requests.Preview = previewOf(plan)
			v.Requests.Input = selectorFields(sel)
		}
	}
	if err != nil {
		v.Error = d.message(err)
		return d.renderRequests(c, statusOf(err), v)
	}
	return d.renderRequests(c, fiber.StatusOK, v)
}

func (d *Dashboard) exportRequestPage(c *fiber.Ctx) error {
	in := requestForm(c)
	sel, err := d.selector(in)
	var body []byte
	if err == nil {
		body, _, err = d.export(c.UserContext(), auth.CurrentUser(c), sel, in.Format)
	}
	if err != nil {
		v := d.requestsView(c)
		v.Requests.Input = in
		v.Error = d.message(err)
		return d.renderRequests(c, statusOf(err), v)
	}
	return sendExport(c, sel, in.Format, body)
}

func (d *Dashboard) eraseRequestPage(c *fiber.Ctx) error {
	v := d.requestsView(c)
	in := requestForm(c)
	v.Requests.Input = in
	sel, err := d.selector(in)
	valid := err == nil
	if valid && !in.Confirm {
		err = httperr.Invalid("tick the box to confirm the erasure")
	}
	var res *erasureView
	if err == nil {
		res, err = d.erase(c.UserContext(), v.User, sel)
	}
	if err != nil {
		v.Error = d.message(err)
		if valid { // show what is there now, to confirm again
			if plan, perr := d.preview(c.UserContext(), sel); perr == nil {
				v.Requests.Preview = previewOf(plan)
				v.Requests.Input = selectorFields(sel)
			}
		}
		return d.renderRequests(c, statusOf(err), v)
	}
	v.Requests.Erased = res
	v.Requests.Input = requestInput{Site: sel.Site, Kind: string(sel.Kind)}
	v.Notice = fmt.Sprintf("Erased %d events (%d rows in all tables, %d from the spool) and verified that none is left. Ledger entry %s.",
		res.Events, res.Rows, res.Spooled, res.ID)
	return d.renderRequests(c, fiber.StatusOK, v)
}

// sendExport answers an export as a download.
func sendExport(c *fiber.Ctx, sel erasure.Selector, format string, body []byte) error {
	if format == "" {
		format = "json"
	}
	name := fmt.Sprintf("loendur-export-%s-%s.%s", sel.Site, time.Now().UTC().Format("20060102T150405Z"), format)
	web.SetPageHeaders(c)
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	if format == "csv" {
		c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	} else {
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	}
	return c.Send(body)
}

// --- JSON API ---

func (d *Dashboard) apiInput(c *fiber.Ctx) (requestInput, erasure.Selector, error) {
	var in requestInput
	if err := c.BodyParser(&in); err != nil {
		return in, erasure.Selector{}, httperr.Invalid(`send JSON such as {"site":"example.com","kind":"visitor","ids":["1234"]} or {"site":"example.com","kind":"ip","ip":"203.0.113.7","from":"2026-03-01","to":"2026-03-02"}`)
	}
	sel, err := d.selector(in)
	return in, sel, err
}

func (d *Dashboard) apiPreviewRequest(c *fiber.Ctx) error {
	_, sel, err := d.apiInput(c)
	if err != nil {
		return d.apiError(c, err)
	}
	plan, err := d.preview(c.UserContext(), sel)
	if err != nil {
		return d.apiError(c, err)
	}
	return c.JSON(previewOf(plan))
}

func (d *Dashboard) apiExportRequest(c *fiber.Ctx) error {
	in, sel, err := d.apiInput(c)
	if err != nil {
		return d.apiError(c, err)
	}
	if in.Format == "" {
		in.Format = c.Query("format")
	}
	body, _, err := d.export(c.UserContext(), auth.CurrentUser(c), sel, in.Format)
	if err != nil {
		return d.apiError(c, err)
	}
	return sendExport(c, sel, in.Format, body)
}

func (d *Dashboard) apiEraseRequest(c *fiber.Ctx) error {
	in, sel, err := d.apiInput(c)
	if err == nil && !in.Confirm {
		err = httperr.Invalid(`an erasure needs "confirm": true`)
	}
	if err != nil {
		return d.apiError(c, err)
	}
	res, err := d.erase(c.UserContext(), auth.CurrentUser(c), sel)
	if err != nil {
		return d.apiError(c, err)
	}
	return c.JSON(res)
}

func (d *Dashboard) apiLedger(c *fiber.Ctx) error {
	entries, err := d.ledger(c.UserContext(), min(max(c.QueryInt("limit", 100), 1), 10000))
	if err != nil {
		d.log.Error("read the erasure ledger", "err", err)
		return d.apiError(c, httperr.New(fiber.StatusInternalServerError, "", "the erasure ledger could not be read"))
	}
	return c.JSON(fiber.Map{"entries": entries})
}
