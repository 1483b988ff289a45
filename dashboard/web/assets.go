package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"path"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// embedded holds the page templates, the hand-written script and styles (static/) and
// the charting library copied from npm by `make assets` (dist/, git-ignored except for
// .gitkeep, so a plain `go build` works before npm ran: the page then says so).
//
//go:embed templates static all:dist
var embedded embed.FS

// chartFiles are the files `make assets` copies into dist/ (see build.mjs).
var chartFiles = []string{"uPlot.iife.min.js", "uPlot.min.css"}

// Cache lifetimes: a versioned URL (?v=hash of the content) never changes; anything else
// is revalidated with its ETag on every use.
const (
	cacheVersioned   = "public, max-age=31536000, immutable"
	cacheRevalidated = "no-cache"
)

// asset is one file as served: its bytes, a gzip copy when that is smaller, a strong ETag.
type asset struct {
	body, gz    []byte
	contentType string
	hash        string
}

type assets struct {
	files      map[string]*asset // by URL name: "app.js", "uPlot.iife.min.js"
	chartReady bool
}

func newAssets() (*assets, error) {
	a := &assets{files: map[string]*asset{}}
	static, err := fs.Sub(embedded, "static")
	if err != nil {
		return nil, err
	}
	dist, err := fs.Sub(embedded, "dist")
	if err != nil {
		return nil, err
	}
	if err := a.add(static); err != nil {
		return nil, err
	}
	if err := a.add(dist); err != nil {
		return nil, err
	}
	a.chartReady = true
	for _, f := range chartFiles {
		if a.files[f] == nil {
			a.chartReady = false
		}
	}
	return a, nil
}

// add loads every file of f (dotfiles such as dist/.gitkeep left out).
func (a *assets) add(f fs.FS) error {
	return fs.WalkDir(f, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(path.Base(p), ".") {
			return err
		}
		body, err := fs.ReadFile(f, p)
		if err != nil {
			return fmt.Errorf("read asset %s: %w", p, err)
		}
		a.files[p] = newAsset(p, body)
		return nil
	})
}

func newAsset(name string, body []byte) *asset {
	sum := sha256.Sum256(body)
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	a := &asset{body: body, contentType: ct, hash: hex.EncodeToString(sum[:8])}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(body)
	_ = zw.Close()
	if buf.Len() < len(body) {
		a.gz = buf.Bytes()
	}
	return a
}

// url is the versioned address of an asset, for the templates.
func (a *assets) url(name string) string {
	if f := a.lookup(name); f != nil {
		return "/assets/" + name + "?v=" + f.hash
	}
	return "/assets/" + name
}

// lookup finds an asset by name.
func (a *assets) lookup(name string) *asset {
	return a.files[name]
}

// serve answers GET /assets/NAME with a strong ETag (304 on a match), gzip when the
// client takes it, and a year-long cache for versioned URLs.
func (a *assets) serve(c *fiber.Ctx) error {
	f := a.lookup(c.Params("*"))
	if f == nil {
		return c.Status(fiber.StatusNotFound).SendString("not found\n")
	}
	body, etag := f.body, `"`+f.hash+`"`
	useGzip := f.gz != nil && acceptsGzip(c.Get(fiber.HeaderAcceptEncoding))
	if useGzip {
		body, etag = f.gz, `"`+f.hash+`-gz"`
	}
	c.Set(fiber.HeaderVary, fiber.HeaderAcceptEncoding)
	c.Set(fiber.HeaderETag, etag)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	if c.Query("v") == f.hash {
		c.Set(fiber.HeaderCacheControl, cacheVersioned)
	} else {
		c.Set(fiber.HeaderCacheControl, cacheRevalidated)
	}
	if inm := c.Get(fiber.HeaderIfNoneMatch); inm != "" && etagMatch(inm, f.hash) {
		return c.SendStatus(fiber.StatusNotModified)
	}
	c.Set(fiber.HeaderContentType, f.contentType)
	if useGzip {
		c.Set(fiber.HeaderContentEncoding, "gzip")
	}
	return c.Send(body)
}

// etagMatch reports whether an If-None-Match list names either coding of the asset.
func etagMatch(header, hash string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == `"`+hash+`"` || t == `"`+hash+`-gz"` {
			return true
		}
	}
	return false
}

func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			params = strings.ReplaceAll(params, " ", "")
			return params != "q=0" && params != "q=0.0" && params != "q=0.00" && params != "q=0.000"
		}
	}
	return false
}
