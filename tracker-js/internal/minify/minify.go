// Package minify turns the tracker source into the script that is served, the same way
// for `go generate` and for the test that checks the committed build is current.
package minify

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"

	"github.com/evanw/esbuild/pkg/api"
)

// Budget is the most the served script may weigh, gzip -9, in bytes.
const Budget = 1300

// Script minifies the tracker source with esbuild for ES2017 browsers.
func Script(src []byte) ([]byte, error) {
	r := api.Transform(string(src), api.TransformOptions{
		Loader:            api.LoaderJS,
		Target:            api.ES2017,
		MinifyWhitespace:  true,
		MinifyIdentifiers: true,
		MinifySyntax:      true,
		LegalComments:     api.LegalCommentsNone,
		Charset:           api.CharsetUTF8,
		Sourcefile:        "script.js",
	})
	if len(r.Errors) > 0 {
		msgs := api.FormatMessages(r.Errors, api.FormatMessagesOptions{Kind: api.ErrorMessage})
		return nil, fmt.Errorf("minify: %s", msgs[0])
	}
	if len(r.Code) == 0 {
		return nil, errors.New("minify: empty output")
	}
	return r.Code, nil
}

// GzipSize is the size of b compressed with gzip -9.
func GzipSize(b []byte) (int, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return 0, err
	}
	if _, err := zw.Write(b); err != nil {
		return 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	return buf.Len(), nil
}
