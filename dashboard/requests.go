package dashboard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/dashboard/web"
	"github.com/websystems/loendur/internal/erasure"
	"github.com/websystems/loendur/internal/httperr"
)

// Data requests: staff-run access (export) and erasure requests of data subjects,
// for admins. Every step is a POST, so the selector (a visitor id, an address) never
// lands in a URL, a browser history or an access log; the slog log gets the site and
// the selector kind only.

const (
	// eraseTimeout bounds one erasure: deletes, waiting for them, verifying, recomputing
	// the rollups. It runs detached from the request, so a closed tab cannot stop it
	// half-way.
	eraseTimeout = 15 * time.Minute
	// ledgerShown is how many ledger entries the page lists, newest first.
	ledgerShown = 300
	// auditExport is the audit action of an export.
	auditExport = "data_export"
)

// requestInput is a data request as the form or the JSON API sends it: the selector's
// fields (read by erasure.ParseSelector), plus what the step needs.
type requestInput struct {
	erasure.SelectorInput
	// Format of an export: json or csv.
	Format string `json:"format,omitempty"`
	// Confirm must be true for an erasure.
	Confirm bool `json:"confirm,omitempty"`
}

// requestForm reads the form of the page. It shows the fields of every kind at once,
// so only those of the chosen kind are parsed (erasure.SelectorInput.OfKind).
func requestForm(c *fiber.Ctx) requestInput {
	return requestInput{SelectorInput: erasure.SelectorInput{Site: c.FormValue("site"), Kind: c.FormValue("kind"),
		IDs: []string{c.FormValue("ids")}, IP: c.FormValue("ip"), From: c.FormValue("from"), To: c.FormValue("to"),
		Page: c.FormValue("page")}, Format: c.FormValue("format"), Confirm: c.FormValue("confirm") != ""}
}

// selector turns the input into a validated selector of a registered site.
func (d *Dashboard) selector(in erasure.SelectorInput) (erasure.Selector, error) {
	sel, err := erasure.ParseSelector(in, d.opts.Truncator)
	if err != nil {
		return sel, httperr.Invalid("%s", err.Error())
	}
	if _, ok := d.opts.Sites.Lookup(sel.Site); !ok {
		return sel, httperr.Invalid("site %s is not registered", sel.Site)
	}
	return sel, nil
}

// selectorFields are the form fields that carry a previewed selector into the export
// and erase forms, so what is exported or erased is exactly what was previewed.
func selectorFields(sel erasure.Selector) requestInput {
	return requestInput{SelectorInput: sel.Input()}
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

// erase has the process's erasure service erase the request (previewed again, as rows
// may have arrived since the preview) from every table and the collector's spool,
// after the collector stored what it holds; it waits for the deletes, verifies and
// records it (ledger and audit log, by the admin's email).
func (d *Dashboard) erase(ctx context.Context, actor *auth.User, sel erasure.Selector) (*erasureView, error) {
	res, err := d.opts.Erasure.Erase(context.WithoutCancel(ctx), erasure.Request{Selector: sel, RequestedBy: actor.Email, Timeout: eraseTimeout})
	if errors.Is(err, erasure.ErrQueueNotStored) {
		return nil, d.requestFailed("erase: storing queued events", sel, err)
	}
	if err != nil {
		return nil, d.requestFailed("erase", sel, err)
	}
	return &erasureView{ID: res.ID, Site: sel.Site, Kind: string(sel.Kind), Events: res.Events, Rows: res.Rows,
		Spooled: res.Spooled, Tables: previewOf(res.Plan).Tables, Verified: true, RequestedBy: actor.Email}, nil
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
	if v.Requests == nil { // else what the form before the redirect left (flash)
		v.Requests = &requestsView{}
	}
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
	sel, err := d.selector(in.OfKind())
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
	// POST-redirect-GET: a reload shows the page, never counts again.
	return d.seeOther(c, "/admin/requests", v)
}

func (d *Dashboard) exportRequestPage(c *fiber.Ctx) error {
	in := requestForm(c)
	sel, err := d.selector(in.OfKind())
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
	sel, err := d.selector(in.OfKind())
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
	v.Requests.Input = requestInput{SelectorInput: erasure.SelectorInput{Site: sel.Site, Kind: string(sel.Kind)}}
	v.Notice = fmt.Sprintf("Erased %d events (%d rows in all tables, %d from the spool) and verified that none is left. Ledger entry %s.",
		res.Events, res.Rows, res.Spooled, res.ID)
	// POST-redirect-GET: a reload never asks to send the erasure again.
	return d.seeOther(c, "/admin/requests", v)
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
	sel, err := d.selector(in.SelectorInput)
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
