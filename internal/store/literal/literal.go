// Package literal writes values as ClickHouse SQL literals. Values enter SQL in one of
// two ways, and this package is the only place that writes a value as SQL text:
//
//   - `?` binding, the rule: a query written in Go passes its values as args of Exec
//     or Select, typed as they are: a string, a number, a time.Time for a DateTime
//     (never its formatted text), a Date as its YYYY-MM-DD text (time.DateOnly), a
//     UUID as toUUID(?) of its text (clickhouse-go binds a uuid.UUID as a String).
//     Both engines bind these alike, in mutations (ALTER … DELETE) too.
//   - The literal functions below, where binding cannot reach: SQL rendered as text
//     before it meets a Store (the report templates of dashboard/reports, fragments
//     built for them), and IN lists of any length, which `?` cannot bind (a slice binds
//     as an Array, and ClickHouse 18.16 refuses `x IN [1, 2]`).
//
// A value is never formatted into SQL anywhere else. The package imports nothing of
// loendur's, so internal/store (whose binding uses it) and internal/derived (which store
// imports) both can.
package literal

import (
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Quote is s as a ClickHouse string literal: quotes and backslashes escaped, control
// bytes written as escapes so nothing can end the literal early.
func Quote(s string) string { return string(AppendQuote(make([]byte, 0, len(s)+2), s)) }

// DateTime is the DateTime('UTC') literal of t, to the second.
func DateTime(t time.Time) string {
	return "toDateTime('" + t.UTC().Format(time.DateTime) + "', 'UTC')"
}

// Date is the Date literal of t's UTC calendar day.
func Date(t time.Time) string {
	return "toDate('" + t.UTC().Format(time.DateOnly) + "')"
}

// LikePattern turns a page pattern in which `*` matches anything (also across /) into
// a LIKE pattern: %, _ and \ in the value match themselves. It is a value: bind it, or
// Quote it.
func LikePattern(glob string) string {
	var b strings.Builder
	for i := 0; i < len(glob); i++ {
		switch c := glob[i]; c {
		case '*':
			b.WriteByte('%')
		case '%', '_', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// UInt64List is the IN list of ns: "(1, 2, 3)". An empty list is not valid SQL: the
// caller decides what matching nothing means.
func UInt64List(ns []uint64) string { return list('(', ns, appendUint, ')') }

// StringList is the IN list of ss, each quoted (see UInt64List).
func StringList(ss []string) string { return list('(', ss, AppendQuote, ')') }

// UUIDList is the IN list of ids for a UUID column (see UInt64List); for ids kept in a
// String column, use StringList of their text.
func UUIDList(ids []uuid.UUID) string { return list('(', ids, appendUUID, ')') }

// UUID is the literal of id: a UUID, not a String, on every engine.
func UUID(id uuid.UUID) string { return string(appendUUID(nil, id)) }

// UInt64Array is the Array(UInt64) literal of ns: "[1, 2]".
func UInt64Array(ns []uint64) string { return list('[', ns, appendUint, ']') }

// StringArray is the Array(String) literal of ss, each quoted.
func StringArray(ss []string) string { return list('[', ss, AppendQuote, ']') }

// list writes vs between open and close, separated by commas: an IN list or an array.
func list[T any](open byte, vs []T, appendOne func([]byte, T) []byte, close byte) string {
	b := []byte{open}
	for i, v := range vs {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendOne(b, v)
	}
	return string(append(b, close))
}

func appendUint(b []byte, n uint64) []byte { return strconv.AppendUint(b, n, 10) }

// appendUUID appends the literal of id (see UUID).
func appendUUID(b []byte, id uuid.UUID) []byte {
	return append(AppendUUIDText(append(b, "toUUID('"...), id), "')"...)
}

// AppendUUIDText appends id's text form, 8-4-4-4-12 lowercase hex digits as
// uuid.UUID.String writes it, without the string String allocates: a UUID as
// TabSeparated data holds it (an embedded insert writes one per event), and inside
// toUUID('…').
func AppendUUIDText(b []byte, id uuid.UUID) []byte {
	var text [36]byte
	hex.Encode(text[0:8], id[0:4])
	text[8] = '-'
	hex.Encode(text[9:13], id[4:6])
	text[13] = '-'
	hex.Encode(text[14:18], id[6:8])
	text[18] = '-'
	hex.Encode(text[19:23], id[8:10])
	text[23] = '-'
	hex.Encode(text[24:], id[10:])
	return append(b, text[:]...)
}

// AppendQuote appends s as a ClickHouse string literal (see Quote).
func AppendQuote(b []byte, s string) []byte {
	b = append(b, '\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'', '\\':
			b = append(b, '\\', c)
		case 0:
			b = append(b, `\0`...)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		default:
			b = append(b, c)
		}
	}
	return append(b, '\'')
}
