package store

import (
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Values enter SQL in one of two ways, and this file is the only place that writes a
// value as SQL text:
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
// A value is never formatted into SQL anywhere else, but in internal/derived (which
// store imports, so it cannot use these): it writes its validated days itself.

// dateTimeLayout is how a DateTime is written in SQL text and TabSeparated data.
const dateTimeLayout = time.DateTime

// Quote is s as a ClickHouse string literal: quotes and backslashes escaped, control
// bytes written as escapes so nothing can end the literal early.
func Quote(s string) string { return quoteString(s) }

// DateTime is the DateTime('UTC') literal of t, to the second.
func DateTime(t time.Time) string {
	return "toDateTime('" + t.UTC().Format(dateTimeLayout) + "', 'UTC')"
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
func StringList(ss []string) string { return list('(', ss, appendQuoted, ')') }

// UUIDList is the IN list of ids for a UUID column (see UInt64List); for ids kept in a
// String column, use StringList of their text.
func UUIDList(ids []uuid.UUID) string { return list('(', ids, appendUUID, ')') }

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

// appendUUID appends the UUID literal of id (a UUID, not a String, on every engine).
func appendUUID(b []byte, id uuid.UUID) []byte {
	return append(append(append(b, "toUUID('"...), id.String()...), "')"...)
}

func quoteString(s string) string { return string(appendQuoted(make([]byte, 0, len(s)+2), s)) }

// appendQuoted appends s as a ClickHouse string literal (see Quote).
func appendQuoted(b []byte, s string) []byte {
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
