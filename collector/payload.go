package collector

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fastjson"
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

// payload is the JSON body of POST /api/event, as the tracker sends it. Its strings are
// copies, never views of the request's memory, which Fiber reuses.
type payload struct {
	Site      string
	Name      string
	URL       string
	Referrer  string
	Width     number
	Props     []prop // in the order sent; a repeated key keeps its last value
	EngagedMS number
	Scroll    number
}

// number is an optional JSON number; null is the same as absent.
type number struct {
	value float64
	set   bool
}

// prop is one custom property. Values may be sent as strings, numbers or booleans (the
// tracker passes them as given) and are stored as text; null drops the pair.
type prop struct{ key, value string }

var errPropsShape = errors.New("props must be an object of string, number or boolean values")

// parsers are reused: the body is parsed into a parser's own buffer, without
// allocating a value per field as encoding/json did (it was a tenth of the
// collector's CPU at load).
var parsers fastjson.ParserPool

// parsePayload decodes and validates a beacon body. Errors are *rejection values that
// name the field, never echo the value (it may hold personal data).
func parsePayload(body []byte) (payload, *rejection) {
	var p payload
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return p, reject(reasonBadBody, "empty body: send a JSON object")
	}
	parser := parsers.Get()
	defer parsers.Put(parser)
	// The parser itself stops at fastjson.MaxDepth (300) levels, so a body of ten
	// thousand brackets never recurses deeper than that.
	v, err := parser.ParseBytes(body)
	if err != nil && strings.Contains(err.Error(), "too big depth") || err == nil && tooDeep(v, maxJSONNesting) {
		return p, reject(reasonBadBody, "JSON nested too deeply")
	}
	if err != nil {
		return p, reject(reasonBadBody, "body is not valid JSON")
	}
	obj, err := v.Object()
	if err != nil {
		return p, reject(reasonBadBody, "body is not a valid event JSON object: want an object, got "+v.Type().String())
	}
	var problem error
	obj.Visit(func(key []byte, v *fastjson.Value) {
		if problem == nil {
			problem = p.set(key, v)
		}
	})
	if problem != nil {
		return p, reject(reasonBadBody, "body is not a valid event JSON object: "+problem.Error())
	}
	return p, p.validate()
}

// set stores one top-level field; unknown fields are ignored.
func (p *payload) set(key []byte, v *fastjson.Value) error {
	switch string(key) {
	case "site":
		return setString(&p.Site, "site", v)
	case "name":
		return setString(&p.Name, "name", v)
	case "url":
		return setString(&p.URL, "url", v)
	case "referrer":
		return setString(&p.Referrer, "referrer", v)
	case "width":
		return p.Width.decode("width", v)
	case "engaged_ms":
		return p.EngagedMS.decode("engaged_ms", v)
	case "scroll":
		return p.Scroll.decode("scroll", v)
	case "props":
		return p.setProps(v)
	}
	return nil
}

func setString(dst *string, field string, v *fastjson.Value) error {
	switch v.Type() {
	case fastjson.TypeNull:
		*dst = ""
		return nil
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		*dst = copyText(b)
		return nil
	}
	return fmt.Errorf("field %s has the wrong type (want string)", field)
}

func (n *number) decode(field string, v *fastjson.Value) error {
	switch v.Type() {
	case fastjson.TypeNull:
		*n = number{}
		return nil
	case fastjson.TypeNumber:
		if f, err := v.Float64(); err == nil {
			*n = number{value: f, set: true}
			return nil
		}
	}
	return fmt.Errorf("field %s has the wrong type (want number)", field)
}

func (p *payload) setProps(v *fastjson.Value) error {
	if v.Type() == fastjson.TypeNull {
		p.Props = nil
		return nil
	}
	obj, err := v.Object()
	if err != nil {
		return errPropsShape
	}
	p.Props = make([]prop, 0, min(obj.Len(), MaxProps+1))
	var problem error
	obj.Visit(func(key []byte, v *fastjson.Value) {
		if problem != nil || len(p.Props) > MaxProps {
			return // validate refuses more than MaxProps
		}
		value, keep, err := propValue(v)
		switch {
		case err != nil:
			problem = err
		case keep:
			p.Props = setProp(p.Props, string(key), value)
		default:
			p.Props = slices.DeleteFunc(p.Props, func(pr prop) bool { return pr.key == string(key) })
		}
	})
	return problem
}

// propValue is a property's value as text; keep is false for null.
func propValue(v *fastjson.Value) (value string, keep bool, err error) {
	switch v.Type() {
	case fastjson.TypeNull:
		return "", false, nil
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return copyText(b), true, nil
	case fastjson.TypeTrue:
		return "true", true, nil
	case fastjson.TypeFalse:
		return "false", true, nil
	case fastjson.TypeNumber:
		// The parser also takes NaN, Inf and loose forms such as "1-2"; only JSON's own
		// number grammar is stored.
		raw := v.MarshalTo(nil)
		if raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9' {
			if json.Valid(raw) {
				return string(raw), true, nil
			}
		}
	}
	return "", false, errPropsShape
}

func setProp(props []prop, key, value string) []prop {
	for i := range props {
		if props[i].key == key {
			props[i].value = value
			return props
		}
	}
	return append(props, prop{key, value})
}

// copyText copies b out of the parser's buffer; invalid UTF-8 becomes U+FFFD, as the
// standard decoder did, so what is stored is always text.
func copyText(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
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
		return reject(reasonBadField, fmt.Sprintf("props has more than %d pairs", MaxProps))
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
	if p.Name == eventEngagement && !p.EngagedMS.set {
		return reject(reasonBadField, "engagement events need engaged_ms")
	}
	for _, pr := range p.Props {
		if k, v := pr.key, pr.value; k == "" || len(k) > maxPropKeyLen || len(v) > maxPropValueLen || !printable(k) || !utf8.ValidString(v) {
			return reject(reasonBadField, fmt.Sprintf("props keys must be 1-%d bytes and values at most %d bytes of text", maxPropKeyLen, maxPropValueLen))
		}
	}
	return nil
}

func checkNumber(field string, n number, lo, hi float64) *rejection {
	if !n.set || (n.value >= lo && n.value <= hi) {
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

// tooDeep reports whether objects and arrays nest more than limit levels in v.
func tooDeep(v *fastjson.Value, limit int) bool {
	deep := false
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		o.Visit(func(_ []byte, v *fastjson.Value) { deep = deep || tooDeep(v, limit-1) })
	case fastjson.TypeArray:
		items, _ := v.Array()
		for _, item := range items {
			deep = deep || tooDeep(item, limit-1)
		}
	default:
		return false
	}
	return deep || limit <= 0
}
