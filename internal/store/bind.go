package store

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/store/literal"
)

// bind replaces each `?` outside quotes with the SQL literal of the next arg. The server
// backend gets the same client-side binding from clickhouse-go; chDB has no such API.
func bind(query string, args []any) (string, error) {
	if len(args) == 0 {
		return query, nil
	}
	var b strings.Builder
	b.Grow(len(query) + 16*len(args))
	next := 0
	var quote byte
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == '\\' && i+1 < len(query) {
				b.WriteByte(c)
				i++
				c = query[i]
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"' || c == '`':
			quote = c
		case c == '?':
			if next >= len(args) {
				return "", fmt.Errorf("bind: more placeholders than the %d args", len(args))
			}
			lit, err := argLiteral(args[next])
			if err != nil {
				return "", fmt.Errorf("bind arg %d: %w", next+1, err)
			}
			b.WriteString(lit)
			next++
			continue
		}
		b.WriteByte(c)
	}
	if next != len(args) {
		return "", fmt.Errorf("bind: %d args for %d placeholders", len(args), next)
	}
	return b.String(), nil
}

func argLiteral(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return literal.Quote(x), nil
	case []byte:
		return literal.Quote(string(x)), nil
	case bool:
		if x {
			return "1", nil
		}
		return "0", nil
	case int:
		return strconv.FormatInt(int64(x), 10), nil
	case int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return fmt.Sprint(x), nil
	case float32:
		return argLiteral(float64(x))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "", fmt.Errorf("non-finite float %v", x)
		}
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case time.Time:
		return literal.DateTime(x), nil
	case uuid.UUID:
		return literal.UUID(x), nil
	case []string:
		return literal.StringArray(x), nil
	case []uint64:
		return literal.UInt64Array(x), nil
	default:
		return "", fmt.Errorf("unsupported type %T", v)
	}
}

// writeValue writes v as a plain VALUES literal: times and UUIDs as quoted text, which
// ClickHouse parses on its fast path, instead of the function calls argLiteral uses.
func writeValue(b *strings.Builder, v any) error {
	switch x := v.(type) {
	case time.Time:
		b.WriteString("'" + x.UTC().Format(dateTimeLayout) + "'")
	case uuid.UUID:
		b.WriteString("'" + x.String() + "'")
	case string:
		b.WriteString(literal.Quote(x))
	default:
		lit, err := argLiteral(v)
		if err != nil {
			return err
		}
		b.WriteString(lit)
	}
	return nil
}

// appendTSV appends s as a TabSeparated field: backslash, tab, newline, carriage
// return and NUL escaped.
func appendTSV(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, `\\`...)
		case '\t':
			b = append(b, `\t`...)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case 0:
			b = append(b, `\0`...)
		default:
			b = append(b, c)
		}
	}
	return b
}
