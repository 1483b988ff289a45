package dashboard

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/dashboard/web"
	"github.com/websystems/loendur/internal/httperr"
	"github.com/websystems/loendur/internal/imports"
	"github.com/websystems/loendur/internal/sites"
)

// Imports on the dashboard (Sites and settings, admins): the browser sends the file in
// chunks that fit the app's small body limit (which protects the beacon), to a file in
// a temporary folder; then the import runs in the background, and the page polls its
// state. What runs is the same imports.Importer as `loendur import`.
//
//	GET    /api/v1/sites/:domain/imports                     the site's imports
//	DELETE /api/v1/sites/:domain/imports/:id                 delete one
//	POST   /api/v1/sites/:domain/uploads?name=FILE&size=N    start an upload: {"id": …}
//	PUT    /api/v1/sites/:domain/uploads/:id?offset=N        the next chunk (body)
//	POST   /api/v1/sites/:domain/uploads/:id/finish          import what was sent
//	GET    /api/v1/sites/:domain/uploads/:id                 state, bytes, rows, error

// UploadChunk is the most bytes one PUT may carry (under the app's body limit).
const UploadChunk = 15 << 10

// maxUpload bounds one uploaded file.
const maxUpload = 4 << 30

// uploadTTL is how long a finished or abandoned upload's state is kept.
const uploadTTL = time.Hour

type upload struct {
	ID       string          `json:"id"`
	Site     string          `json:"site"`
	Name     string          `json:"name"`
	Size     int64           `json:"size"`
	Received int64           `json:"received"`
	State    string          `json:"state"` // receiving, checking, writing, done, duplicate, failed
	Rows     uint64          `json:"rows"`
	Error    string          `json:"error,omitempty"`
	Import   *imports.Record `json:"import,omitempty"`
	path     string
	touched  time.Time
}

type uploads struct {
	mu      sync.Mutex
	byID    map[string]*upload
	running sync.WaitGroup // imports in the background (tests wait for them)
}

func (d *Dashboard) importer() (*imports.Importer, error) {
	return imports.New(imports.Options{DB: d.opts.DB, Log: d.log, Salt: d.opts.Salt, Now: d.opts.Now})
}

func (d *Dashboard) mountImports(r fiber.Router) {
	d.uploads = &uploads{byID: map[string]*upload{}}
	r.Get("/sites/:domain/imports", auth.RequireAdmin, d.apiImports)
	r.Delete("/sites/:domain/imports/:id", auth.RequireAdmin, d.apiDeleteImport)
	r.Post("/sites/:domain/uploads", auth.RequireAdmin, d.apiStartUpload)
	r.Put("/sites/:domain/uploads/:id", auth.RequireAdmin, d.apiUploadChunk)
	r.Post("/sites/:domain/uploads/:id/finish", auth.RequireAdmin, d.apiFinishUpload)
	r.Get("/sites/:domain/uploads/:id", auth.RequireAdmin, d.apiUploadState)
}

func (d *Dashboard) siteParam(c *fiber.Ctx) (string, error) {
	domain, err := sites.NormalizeDomain(c.Params("domain"))
	if err == nil {
		if _, ok := d.opts.Sites.Lookup(domain); ok {
			return domain, nil
		}
	}
	return "", httperr.New(fiber.StatusNotFound, "", "no such site")
}

func (d *Dashboard) apiImports(c *fiber.Ctx) error {
	site, err := d.siteParam(c)
	if err != nil {
		return web.APIError(c, d.log, err)
	}
	im, err := d.importer()
	if err != nil {
		return web.APIError(c, d.log, err)
	}
	recs, err := im.List(c.UserContext(), site)
	if err != nil {
		return web.APIError(c, d.log, err)
	}
	out := make([]fiber.Map, 0, len(recs))
	for _, r := range recs {
		from, to := r.Period()
		out = append(out, fiber.Map{"id": strconv.FormatUint(r.ID, 10), "source": r.Source, "file_name": r.FileName,
			"from": from, "to": to, "rows": r.Rows, "state": r.State, "created": r.Created})
	}
	return c.JSON(fiber.Map{"site": site, "imports": out})
}

func (d *Dashboard) apiDeleteImport(c *fiber.Ctx) error {
	site, err := d.siteParam(c)
	if err != nil {
		return web.APIError(c, d.log, err)
	}
	id, err := imports.ParseID(c.Params("id"))
	if err != nil {
		return web.APIError(c, d.log, httperr.New(fiber.StatusBadRequest, "", err.Error()))
	}
	im, err := d.importer()
	if err != nil {
		return web.APIError(c, d.log, err)
	}
	if _, ok, err := im.Get(c.UserContext(), site, id); err != nil || !ok {
		if err == nil {
			err = httperr.New(fiber.StatusNotFound, "", "no such import of this site")
		}
		return web.APIError(c, d.log, err)
	}
	rec, err := im.Delete(c.UserContext(), site, id)
	if err != nil {
		return web.APIError(c, d.log, err)
	}
	d.auth.Audit(c.UserContext(), auth.CurrentUser(c), "import_delete", site, fmt.Sprintf("%d %s", rec.ID, rec.FileName))
	return c.SendStatus(fiber.StatusNoContent)
}

func (d *Dashboard) apiStartUpload(c *fiber.Ctx) error {
	site, err := d.siteParam(c)
	if err != nil {
		return web.APIError(c, d.log, err)
	}
	name := filepath.Base(strings.TrimSpace(c.Query("name")))
	size, serr := strconv.ParseInt(c.Query("size"), 10, 64)
	if name == "" || name == "." || name == "/" || len(name) > 255 || serr != nil || size <= 0 || size > maxUpload {
		return web.APIError(c, d.log, httperr.New(fiber.StatusBadRequest, "", fmt.Sprintf("name the file (?name=) and its size in bytes (?size=, at most %d)", int64(maxUpload))))
	}
	var b [16]byte
	rand.Read(b[:])
	dir, err := os.MkdirTemp("", "loendur-upload-")
	if err != nil {
		return web.APIError(c, d.log, fmt.Errorf("upload folder: %w", err))
	}
	u := &upload{ID: hex.EncodeToString(b[:]), Site: site, Name: name, Size: size, State: "receiving",
		path: filepath.Join(dir, name), touched: d.opts.Now()}
	if err := os.WriteFile(u.path, nil, 0o600); err != nil {
		return web.APIError(c, d.log, fmt.Errorf("upload file: %w", err))
	}
	d.uploads.put(u, d.opts.Now())
	c.Status(fiber.StatusCreated)
	return c.JSON(fiber.Map{"id": u.ID, "chunk": UploadChunk})
}

// upload finds an upload of the site in the URL.
func (d *Dashboard) upload(c *fiber.Ctx) (*upload, error) {
	site, err := d.siteParam(c)
	if err != nil {
		return nil, err
	}
	u := d.uploads.get(c.Params("id"))
	if u == nil || u.Site != site {
		return nil, httperr.New(fiber.StatusNotFound, "", "no such upload (they are kept an hour)")
	}
	return u, nil
}

func (d *Dashboard) apiUploadChunk(c *fiber.Ctx) error {
	u, err := d.upload(c)
	if err != nil {
		return web.APIError(c, d.log, err)
	}
	d.uploads.mu.Lock()
	defer d.uploads.mu.Unlock()
	offset, err := strconv.ParseInt(c.Query("offset"), 10, 64)
	body := c.Body()
	switch {
	case u.State != "receiving":
		return web.APIError(c, d.log, httperr.New(fiber.StatusConflict, "", "the upload is complete"))
	case err != nil || offset != u.Received:
		return web.APIError(c, d.log, httperr.New(fiber.StatusConflict, "", fmt.Sprintf("send the chunk at offset %d", u.Received)))
	case u.Received+int64(len(body)) > u.Size:
		return web.APIError(c, d.log, httperr.New(fiber.StatusBadRequest, "", "more bytes than the size announced"))
	}
	f, err := os.OpenFile(u.path, os.O_WRONLY|os.O_APPEND, 0)
	if err == nil {
		_, err = f.Write(body)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return web.APIError(c, d.log, fmt.Errorf("write upload: %w", err))
	}
	u.Received += int64(len(body))
	u.touched = d.opts.Now()
	return c.JSON(fiber.Map{"received": u.Received})
}

func (d *Dashboard) apiFinishUpload(c *fiber.Ctx) error {
	u, err := d.upload(c)
	if err != nil {
		return web.APIError(c, d.log, err)
	}
	d.uploads.mu.Lock()
	if u.State != "receiving" || u.Received != u.Size {
		d.uploads.mu.Unlock()
		return web.APIError(c, d.log, httperr.New(fiber.StatusConflict, "", fmt.Sprintf("received %d of %d bytes", u.Received, u.Size)))
	}
	u.State = "checking"
	d.uploads.mu.Unlock()
	im, err := d.importer()
	if err != nil {
		return web.APIError(c, d.log, err)
	}
	actor := auth.CurrentUser(c)
	d.uploads.running.Go(func() { d.runImport(im, u, actor) })
	c.Status(fiber.StatusAccepted)
	return c.JSON(d.uploads.snapshot(u))
}

// runImport imports an uploaded file, then deletes it.
func (d *Dashboard) runImport(im *imports.Importer, u *upload, actor *auth.User) {
	defer os.RemoveAll(filepath.Dir(u.path))
	ctx := context.Background()
	rec, err := im.Import(ctx, u.Site, imports.File{Path: u.path, Name: u.Name, Progress: func(stage string, rows uint64) {
		d.uploads.mu.Lock()
		u.State, u.Rows = stage, rows
		d.uploads.mu.Unlock()
	}})
	d.uploads.mu.Lock()
	defer d.uploads.mu.Unlock()
	u.touched = d.opts.Now()
	var bad *imports.Error
	switch {
	case errors.Is(err, imports.ErrDuplicate):
		u.State, u.Import = "duplicate", &rec
	case errors.As(err, &bad):
		u.State, u.Error = "failed", bad.Error()
	case err != nil:
		d.log.Error("import failed", "site", u.Site, "file", u.Name, "err", err)
		u.State, u.Error = "failed", "the import failed on our side; see the server log"
	default:
		u.State, u.Rows, u.Import = "done", rec.Rows, &rec
		d.auth.Audit(ctx, actor, "import", u.Site, fmt.Sprintf("%d %s %s %d rows", rec.ID, rec.Source, rec.FileName, rec.Rows))
	}
}

func (d *Dashboard) apiUploadState(c *fiber.Ctx) error {
	u, err := d.upload(c)
	if err != nil {
		return web.APIError(c, d.log, err)
	}
	return c.JSON(d.uploads.snapshot(u))
}

func (us *uploads) put(u *upload, now time.Time) {
	us.mu.Lock()
	defer us.mu.Unlock()
	for id, old := range us.byID {
		if now.Sub(old.touched) > uploadTTL && old.State != "checking" && old.State != "writing" {
			os.RemoveAll(filepath.Dir(old.path))
			delete(us.byID, id)
		}
	}
	us.byID[u.ID] = u
}

func (us *uploads) get(id string) *upload {
	us.mu.Lock()
	defer us.mu.Unlock()
	return us.byID[id]
}

func (us *uploads) snapshot(u *upload) upload {
	us.mu.Lock()
	defer us.mu.Unlock()
	return *u
}
