package eventcodec

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/websystems/loendur/internal/eventtest"
	"github.com/websystems/loendur/internal/store"
)

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
	want := []store.Event{eventtest.Filled(t), {Timestamp: time.Unix(0, 0).UTC()}}
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
	e := eventtest.Filled(t)
	one, many := AppendEvent(nil, &e), AppendEvents(nil, []store.Event{e})
	if string(one) != string(many) {
		t.Fatalf("AppendEvent wrote %x, AppendEvents %x", one, many)
	}
}

// Every cut of an encoding, and an encoding with a byte after it, is refused.
func TestDecodeTruncated(t *testing.T) {
	e := eventtest.Filled(t)
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
	e := eventtest.Filled(f)
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
