package eventcodec

import (
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/store"
)

// filledEvent returns an event with every field set to a value that is not zero and
// differs from field to field.
func filledEvent(t testing.TB) store.Event {
	t.Helper()
	var e store.Event
	v := reflect.ValueOf(&e).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		name := v.Type().Field(i).Name
		switch {
		case f.Type() == reflect.TypeFor[uuid.UUID]():
			f.Set(reflect.ValueOf(uuid.UUID{0x1d, 15: byte(i)}))
		case f.Type() == reflect.TypeFor[time.Time]():
			f.Set(reflect.ValueOf(time.Date(2031, 7, 9, 1, 2, 3, 456789012, time.UTC)))
		case f.Kind() == reflect.String:
			f.SetString("value of " + name + " ✓")
		case f.Kind() == reflect.Uint8, f.Kind() == reflect.Uint16, f.Kind() == reflect.Uint32, f.Kind() == reflect.Uint64:
			f.SetUint(math.MaxUint64>>(64-8*f.Type().Size()) - uint64(i)) // near the top of the type's range
		case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String:
			f.Set(reflect.ValueOf([]string{name + " one", "", name + " three"}))
		default:
			t.Fatalf("filledEvent does not know how to fill store.Event.%s (%s): teach it, and add a layout version", name, f.Type())
		}
	}
	return e
}

// TestCoversEveryField fails when store.Event changes without a new layout version:
// the field list must name the struct's fields, and every field must round-trip.
func TestCoversEveryField(t *testing.T) {
	typ := reflect.TypeFor[store.Event]()
	var names []string
	for i := range typ.NumField() {
		names = append(names, typ.Field(i).Name)
	}
	if !reflect.DeepEqual(slices.Sorted(slices.Values(names)), slices.Sorted(slices.Values(FieldsV1))) {
		t.Fatalf("store.Event has fields %v, layout 1 encodes %v: add a layout version", names, FieldsV1)
	}
	want := []store.Event{filledEvent(t), {Timestamp: time.Unix(0, 0).UTC()}}
	got, err := DecodeEvents(AppendEvents(nil, want))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip\n got %+v\nwant %+v", got, want)
	}
}

// AppendEvent writes the same bytes as AppendEvents with one event.
func TestAppendEventIsOneEvent(t *testing.T) {
	e := filledEvent(t)
	one, many := AppendEvent(nil, &e), AppendEvents(nil, []store.Event{e})
	if string(one) != string(many) {
		t.Fatalf("AppendEvent wrote %x, AppendEvents %x", one, many)
	}
}

// Every cut of an encoding, and an encoding with a byte after it, is refused.
func TestDecodeTruncated(t *testing.T) {
	e := filledEvent(t)
	body := AppendEvents(nil, []store.Event{e, e})
	for n := range len(body) {
		if _, err := DecodeEvents(body[:n]); err == nil {
			t.Fatalf("body cut to %d of %d bytes decoded", n, len(body))
		}
	}
	if _, err := DecodeEvents(append(body, 0)); err == nil {
		t.Fatal("body with a trailing byte decoded")
	}
}

// FuzzDecodeEvents decodes arbitrary bytes: no panic, and whatever decodes encodes to
// bytes that decode to the same events.
func FuzzDecodeEvents(f *testing.F) {
	e := filledEvent(f)
	f.Add(AppendEvents(nil, []store.Event{e, {}}))
	f.Add(AppendEvent(nil, &store.Event{}))
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := DecodeEvents(body)
		if err != nil {
			return
		}
		again, err := DecodeEvents(AppendEvents(nil, evs))
		if err != nil {
			t.Fatalf("re-encoded events do not decode: %v", err)
		}
		if !reflect.DeepEqual(again, evs) {
			t.Fatalf("round trip\n got %+v\nwant %+v", again, evs)
		}
	})
}
