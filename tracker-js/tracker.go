// Package trackerjs is the loendur tracker: the script that sites embed, built from
// src/script.js into the committed script.min.js, and the handler that serves it at
// /js/script.js.
//
// Rebuild after changing src/script.js with `go generate ./tracker-js`; a test fails when
// script.min.js is stale or over its size budget.
package trackerjs

//go:generate go run ./build

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"

	_ "embed"

	"github.com/andybalholm/brotli"
	"github.com/gofiber/fiber/v2"
)

// Script is the minified tracker, as served.
//
//go:embed script.min.js
var Script []byte

// CacheControl lets browsers reuse the script for an hour and then revalidate it in the
// background for a day: a new tracker reaches every page within about an hour.
const CacheControl = "public, max-age=3600, stale-while-revalidate=86400"

// representation is the script in one content coding.
type representation struct {
	encoding string // Content-Encoding, "" for identity
	etag     string // strong, quoted; differs per coding as RFC 9110 asks
	body     []byte
}

// Path is where Register serves the script.
const Path = "/js/script.js"

// Register serves the script at GET Path on r, with Handler(allowOrigin).
func Register(r fiber.Router, allowOrigin func(origin string) bool) error {
	if r == nil {
		return errors.New("tracker: no router to register on")
	}
	r.Get(Path, Handler(allowOrigin))
	return nil
}

// Handler serves the script (Register mounts it at GET /js/script.js). It compresses the script
// with gzip and brotli once, when called, and then answers each request with the best
// coding the client accepts, a strong ETag (304 on a matching If-None-Match), a cache
// lifetime and, for an Origin that allowOrigin accepts, CORS headers so that pages can
// load it with crossorigin (e.g. with Subresource Integrity). A nil allowOrigin accepts
// every origin. Do not put a compression middleware in front of it.
func Handler(allowOrigin func(origin string) bool) fiber.Handler {
	sum := sha256.Sum256(Script)
	tag := hex.EncodeToString(sum[:12])
	identity := representation{etag: `"` + tag + `"`, body: Script}
	gz := representation{encoding: "gzip", etag: `"` + tag + `-gz"`, body: gzipBytes(Script)}
	br := representation{encoding: "br", etag: `"` + tag + `-br"`, body: brotliBytes(Script)}
	etags := []string{identity.etag, gz.etag, br.etag}

	return func(c *fiber.Ctx) error {
		rep := identity
		switch acceptEncoding(c.Get(fiber.HeaderAcceptEncoding)) {
		case "br":
			rep = br
		case "gzip":
			rep = gz
		}

		c.Set(fiber.HeaderVary, "Accept-Encoding, Origin")
		c.Set(fiber.HeaderETag, rep.etag)
		c.Set(fiber.HeaderCacheControl, CacheControl)
		c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
		// Pages that require CORP for their subresources (COEP) may load it too.
		c.Set("Cross-Origin-Resource-Policy", "cross-origin")
		if origin := c.Get(fiber.HeaderOrigin); origin != "" {
			// Fiber reuses request memory after the handler returns: hand out a copy.
			origin = strings.Clone(origin)
			if allowOrigin == nil || allowOrigin(origin) {
				c.Set(fiber.HeaderAccessControlAllowOrigin, origin)
			}
		}

		// Any of the codings' tags is a current copy of this script version.
		if inm := c.Get(fiber.HeaderIfNoneMatch); inm != "" && etagMatches(inm, etags) {
			return c.SendStatus(fiber.StatusNotModified)
		}
		c.Set(fiber.HeaderContentType, "application/javascript; charset=utf-8")
		if rep.encoding != "" {
			c.Set(fiber.HeaderContentEncoding, rep.encoding)
		}
		return c.Send(rep.body)
	}
}

// acceptEncoding picks "br", "gzip" or "" (identity) from an Accept-Encoding header,
// honouring q-values (q=0 refuses a coding) and "*"; brotli wins a tie.
func acceptEncoding(header string) string {
	if header == "" {
		return ""
	}
	q := map[string]float64{}
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(part, ";")
		name = strings.ToLower(strings.TrimSpace(name))
		weight := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					weight = f
				}
			}
		}
		q[name] = weight
	}
	weight := func(coding string) float64 {
		if w, ok := q[coding]; ok {
			return w
		}
		if coding == "gzip" {
			if w, ok := q["x-gzip"]; ok {
				return w
			}
		}
		return q["*"]
	}
	b, g := weight("br"), weight("gzip")
	switch {
	case b > 0 && b >= g:
		return "br"
	case g > 0:
		return "gzip"
	}
	return ""
}

// etagMatches reports whether an If-None-Match header names one of etags (weak
// comparison, as RFC 9110 asks for If-None-Match) or is "*".
func etagMatches(header string, etags []string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" {
			return true
		}
		for _, e := range etags {
			if t == e {
				return true
			}
		}
	}
	return false
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // error only for a bad level
	_, _ = zw.Write(b)                                       // a bytes.Buffer never fails
	_ = zw.Close()
	return buf.Bytes()
}

func brotliBytes(b []byte) []byte {
	var buf bytes.Buffer
	bw := brotli.NewWriterLevel(&buf, brotli.BestCompression)
	_, _ = bw.Write(b)
	_ = bw.Close()
	return buf.Bytes()
}
