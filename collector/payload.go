package collector

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits on what a beacon may carry.
const (
	MaxBodyBytes    = 16 << 10
	MaxProps        = 30
	maxPropKeyLen   = 64
	maxPropValueLen = 256
	maxEventNameLen = 120
	maxEngagedMS    = 24 * 60 * 60 * 1000
	maxWidth        = 65535
	maxJSONNesting  = 4
	eventPageview   = "pageview"
	eventEngagement = "engagement"
)

// payload is the JSON body of POST /api/event, as the tracker sends it.
type payload struct {
	Site      string   `json:"site"`
	Name      string   `json:"name"`
	URL       string   `json:"url"`
	Referrer  string   `json:"referrer"`
	Width     *float64 `json:"width"`
	Props     props    `json:"props"`
	EngagedMS *float64 `json:"engaged_ms"`
	Scroll    *float64 `json:"scroll"`
}

// props are custom properties. Values may be sent as strings, numbers or booleans (the
// tracker passes them as given) and are stored as text; null drops the pair.
type props map[string]string

func (p *props) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return errPropsShape
	}
	out := make(props, len(raw))
	for k, v := range raw {
		switch {
		case len(v) > 0 && v[0] == '"':
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return errPropsShape
			}
			out[k] = s
		case string(v) == "null":
		case string(v) == "true" || string(v) == "false" || json.Valid(v) && (v[0] == '-' || v[0] >= '0' && v[0] <= '9'):
			out[k] = string(v)
		default:
			return errPropsShape
		}
	}
	*p = out
	return nil
}

var errPropsShape = errors.New("props must be an object of string, number or boolean values")

// parsePayload decodes and validates a beacon body. Errors are *rejection values that
// name the field, never echo the value (it may hold personal data).
func parsePayload(body []byte) (payload, *rejection) {
	var p payload
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return p, reject(reasonBadBody, "empty body: send a JSON object")
	}
	if depth := jsonDepth(body); depth > maxJSONNesting {
		return p, reject(reasonBadBody, "JSON nested too deeply")
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return p, reject(reasonBadBody, "body is not a valid event JSON object: "+jsonProblem(err))
	}
	return p, p.validate()
}

func (p *payload) validate() *rejection {
	switch {
	case p.Site == "":
		return reject(reasonBadField, "site is required")
	case p.Name == "":
		return reject(reasonBadField, "name is required")
	case p.URL == "":
		return reject(reasonBadField, "url is required")
	case len(p.Name) > maxEventNameLen || !printable(p.Name):
		return reject(reasonBadField, fmt.Sprintf("name must be printable text of at most %d bytes", maxEventNameLen))
	case len(p.Props) > MaxProps:
		return reject(reasonBadField, fmt.Sprintf("props has %d pairs, at most %d allowed", len(p.Props), MaxProps))
	}
	if r := checkNumber("width", p.Width, 0, maxWidth); r != nil {
		return r
	}
	if r := checkNumber("engaged_ms", p.EngagedMS, 0, maxEngagedMS); r != nil {
		return r
	}
	if r := checkNumber("scroll", p.Scroll, 0, 100); r != nil {
		return r
	}
	if p.Name == eventEngagement && p.EngagedMS == nil {
		return reject(reasonBadField, "engagement events need engaged_ms")
	}
	for k, v := range p.Props {
		if k == "" || len(k) > maxPropKeyLen || len(v) > maxPropValueLen || !printable(k) || !utf8.ValidString(v) {
			return reject(reasonBadField, fmt.Sprintf("props keys must be 1-%d bytes and values at most %d bytes of text", maxPropKeyLen, maxPropValueLen))
		}
	}
	return nil
}

func checkNumber(field string, v *float64, lo, hi float64) *rejection {
	if v == nil || (*v >= lo && *v <= hi) {
		return nil
	}
	return reject(reasonBadField, fmt.Sprintf("%s must be between %g and %g", field, lo, hi))
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// jsonDepth returns the deepest nesting of objects and arrays outside strings, so a body
// of ten thousand brackets is refused before the decoder recurses into it.
func jsonDepth(b []byte) int {
	depth, max := 0, 0
	inString, escaped := false, false
	for _, c := range b {
		switch {
		case inString:
			if escaped {
				escaped = false
			} else if c == '\\' {
				escaped = true
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			if depth > max {
				max = depth
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return max
}

// jsonProblem describes a decode error without quoting the input.
func jsonProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		field := typeErr.Field
		if strings.HasPrefix(field, "props") {
			return errPropsShape.Error()
		}
		return fmt.Sprintf("field %s has the wrong type (want %s)", field, typeErr.Type)
	}
	if errors.Is(err, errPropsShape) {
		return errPropsShape.Error()
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return fmt.Sprintf("syntax error at byte %d", syntaxErr.Offset)
	}
	return "cannot decode"
}
