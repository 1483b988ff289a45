package dashboard

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/internal/erasure"
	"github.com/websystems/loendur/internal/httperr"
	"github.com/websystems/loendur/internal/store"
)

// keptOnSiteDeletion are tables with a site column that deleting a site leaves alone.
// The erasure ledger is the record of data subjects' requests carried out: it is
// evidence, kept for as long as the ledger is, and replayed onto a restored backup.
var keptOnSiteDeletion = []string{erasure.LedgerTable}

// deleteSite removes a site and everything stored about it: first the site itself
// (so the collector refuses its events from now on), then its rows in every table of
// the database that has a site column, as internal/erasure's catalog finds them —
// events, visits, rollups, imports and the per-site settings (shared links, reports,
// exclusions, notice, funnels) — and finally its rows of the sites table. confirm must
// repeat the domain. It returns the tables rows were deleted from.
func (d *Dashboard) deleteSite(ctx context.Context, actor *auth.User, domain, confirm string) ([]string, error) {
	if !actor.IsAdmin() {
		return nil, auth.ErrForbidden
	}
	if err := d.opts.Sites.Load(ctx); err != nil {
		return nil, err
	}
	s, ok := d.opts.Sites.Lookup(domain)
	if !ok {
		return nil, fmt.Errorf("site %s: %w", domain, auth.ErrNotFound)
	}
	if strings.TrimSpace(strings.ToLower(confirm)) != s.Domain {
		return nil, httperr.Invalid("type the domain %s to confirm the deletion", s.Domain)
	}
	row := []any{s.Domain, s.Created, s.Timezone, s.RetentionMonths, s.HonourDNT, uint8(1), uint64(time.Now().UnixNano())}
	if err := d.opts.DB.Insert(ctx, "sites", []string{"domain", "created", "timezone", "retention_months", "honour_dnt", "deleted", "version"},
		[][]any{row}); err != nil {
		return nil, fmt.Errorf("delete site %s: %w", s.Domain, err)
	}
	if err := d.opts.Sites.Load(ctx); err != nil {
		return nil, err
	}
	tables, err := d.deleteSiteRows(ctx, s.Domain)
	if err != nil {
		d.auth.Audit(ctx, actor, "site_delete_failed", s.Domain, err.Error())
		return tables, err
	}
	if err := erasure.DeleteWhere(ctx, d.opts.DB, "sites", "domain = ?", s.Domain); err != nil {
		return tables, err
	}
	if err := d.auth.ForgetSite(ctx, actor, s.Domain); err != nil {
		return tables, err
	}
	if err := d.opts.Exclusions.Load(ctx); err != nil {
		d.log.Warn("reload exclusions after deleting a site", "err", err)
	}
	d.auth.Audit(ctx, actor, "site_delete", s.Domain, "rows deleted from "+strings.Join(tables, ","))
	return tables, nil
}

// deleteSiteRows deletes site's rows from every table of the database with a site
// column — internal/erasure's catalog (Discover) tells tables from views, which store
// nothing themselves — but keptOnSiteDeletion, skipping tables without any.
func (d *Dashboard) deleteSiteRows(ctx context.Context, site string) ([]string, error) {
	cat, err := erasure.Discover(ctx, d.opts.DB)
	if err != nil {
		return nil, err
	}
	names, err := siteTables(ctx, d.opts.DB)
	if err != nil {
		return nil, err
	}
	var done []string
	for _, name := range names {
		if slices.Contains(cat.Views, name) || slices.Contains(keptOnSiteDeletion, name) {
			continue
		}
		var n []struct {
			N uint64 `ch:"n"`
		}
		if err := d.opts.DB.Select(ctx, &n, "SELECT count() AS n FROM `"+name+"` WHERE site = ?", site); err != nil {
			return done, fmt.Errorf("count rows of %s in %s: %w", site, name, err)
		}
		if len(n) == 0 || n[0].N == 0 {
			continue
		}
		if err := erasure.DeleteWhere(ctx, d.opts.DB, name, "site = ?", site); err != nil {
			return done, err
		}
		done = append(done, name)
	}
	return done, nil
}

// siteTables names every table and view of the current database with a site column.
func siteTables(ctx context.Context, db store.Store) ([]string, error) {
	var rows []struct {
		Table string `ch:"table"`
	}
	if err := db.Select(ctx, &rows, `SELECT DISTINCT table FROM system.columns
		WHERE database = currentDatabase() AND name = 'site' ORDER BY table`); err != nil {
		return nil, fmt.Errorf("tables with a site column: %w", err)
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Table
	}
	return out, nil
}

func (d *Dashboard) deleteSitePage(c *fiber.Ctx) error {
	v := d.newView(c, "Sites")
	domain := strings.Clone(c.Params("domain"))
	tables, err := d.deleteSite(c.UserContext(), v.User, domain, c.FormValue("confirm_domain"))
	if err != nil {
		v.Error = d.message(err)
		v.Typed = map[string]string{"delete_site": domain}
		return d.renderSites(c, statusOf(err), v)
	}
	v.Notice = fmt.Sprintf("Deleted %s and its data (%d tables).", domain, len(tables))
	return d.seeOther(c, "/admin/sites", v)
}

func (d *Dashboard) apiDeleteSite(c *fiber.Ctx) error {
	var in struct {
		Confirm string `json:"confirm"`
	}
	if err := c.BodyParser(&in); err != nil {
		return d.apiError(c, httperr.Invalid("send JSON such as {\"confirm\":\"example.com\"} (the domain again)"))
	}
	tables, err := d.deleteSite(c.UserContext(), auth.CurrentUser(c), strings.Clone(c.Params("domain")), in.Confirm)
	if err != nil {
		return d.apiError(c, err)
	}
	if tables == nil {
		tables = []string{}
	}
	return c.JSON(fiber.Map{"deleted": c.Params("domain"), "tables": tables})
}
