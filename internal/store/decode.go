package store

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/google/uuid"
)

// decodeJSONEachRow appends the rows of chDB's JSONEachRow output to dest (*[]T, T a
// struct with `ch` tags), matching what clickhouse-go's Select does for the server.
func decodeJSONEachRow(out []byte, dest any) error {
	slice := reflect.ValueOf(dest)
	if slice.Kind() != reflect.Pointer || slice.Elem().Kind() != reflect.Slice || slice.Elem().Type().Elem().Kind() != reflect.Struct {
		return fmt.Errorf("select: dest must be a pointer to a slice of structs, got %T", dest)
	}
	slice = slice.Elem()
	rowType := slice.Type().Elem()
	fields := columnFields(rowType)
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 64*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(line, &raw); err != nil {
			return fmt.Errorf("select: decode row: %w", err)
		}
		row := reflect.New(rowType).Elem()
		for col, val := range raw {
			idx, ok := fields[col]
			if !ok {
				continue
			}
			if err := setField(row.Field(idx), val); err != nil {
				return fmt.Errorf("select: column %s: %w", col, err)
			}
		}
		slice.Set(reflect.Append(slice, row))
	}
	return sc.Err()
}

func columnFields(t reflect.Type) map[string]int {
	fields := make(map[string]int, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		if tag := t.Field(i).Tag.Get("ch"); tag != "" && tag != "-" {
			fields[tag] = i
		}
	}
	return fields
}

var (
	timeType = reflect.TypeOf(time.Time{})
	uuidType = reflect.TypeOf(uuid.UUID{})
)

func setField(f reflect.Value, val json.RawMessage) error {
	switch {
	case f.Type() == timeType:
		var s string
		if err := json.Unmarshal(val, &s); err != nil {
			return err
		}
		t, err := parseCHTime(s)
		if err != nil {
			return err
		}
		f.Set(reflect.ValueOf(t))
		return nil
	case f.Type() == uuidType:
		var s string
		if err := json.Unmarshal(val, &s); err != nil {
			return err
		}
		u, err := uuid.Parse(s)
		if err != nil {
			return err
		}
		f.Set(reflect.ValueOf(u))
		return nil
	}
	switch f.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		// ClickHouse quotes 64-bit integers in JSON by default.
		val = bytes.Trim(val, `"`)
	}
	return json.Unmarshal(val, f.Addr().Interface())
}

func parseCHTime(s string) (time.Time, error) {
	for _, layout := range []string{dateTimeLayout, dateTimeLayout + ".999999999", time.DateOnly} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("unrecognised time %q", s)
}
