package erasure_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/erasure"
	"github.com/websystems/loendur/internal/privacy"
)

// The one selector parser reads what the command line, the form and the JSON API give
// (the same SelectorInput) into the selector a person meant.
func TestParseSelector(t *testing.T) {
	id1, id2 := uuid.MustParse("0190a5c2-7b1e-7c3a-9f2d-3b5e8c1d2a4f"), uuid.MustParse("0190a5c2-7b1e-7c3a-9f2d-3b5e8c1d2a50")
	day := func(d, h, m, s int) time.Time { return time.Date(2026, 3, d, h, m, s, 0, time.UTC) }
	for _, c := range []struct {
		name string
		in   erasure.SelectorInput
		tr   privacy.Truncator
		want erasure.Selector
	}{
		{"visitor ids from a textarea, deduplicated", erasure.SelectorInput{Site: " Example.COM. ", Kind: "visitor", IDs: []string{"1, 2;2\n3"}},
			privacy.Truncator{}, erasure.Selector{Site: "example.com", Kind: erasure.KindVisitor, Visitors: []uint64{1, 2, 3}}},
		{"session ids from repeated flags", erasure.SelectorInput{Site: "example.com", Kind: "session", IDs: []string{"7", "8,9"}},
			privacy.Truncator{}, erasure.Selector{Site: "example.com", Kind: erasure.KindSession, Sessions: []uint64{7, 8, 9}}},
		{"event ids", erasure.SelectorInput{Site: "example.com", Kind: "event", IDs: []string{id1.String(), id2.String(), id1.String()}},
			privacy.Truncator{}, erasure.Selector{Site: "example.com", Kind: erasure.KindEvent, Events: []uuid.UUID{id1, id2}}},
		{"address and whole days", erasure.SelectorInput{Site: "example.com", Kind: "ip", IP: "203.0.113.77", From: "2026-03-10", To: "2026-03-11", Page: " /a* "},
			privacy.Truncator{}, erasure.Selector{Site: "example.com", Kind: erasure.KindIP, IP: "203.0.0.0", From: day(10, 0, 0, 0), To: day(11, 23, 59, 59), Page: "/a*"}},
		{"a browser's datetime-local and RFC 3339, coarser truncation", erasure.SelectorInput{Site: "example.com", Kind: "ip", IP: "203.0.113.77", From: "2026-03-10T12:30", To: "2026-03-10T14:00:00+01:00"},
			privacy.Truncator{V4Bits: 8, V6Bits: 32}, erasure.Selector{Site: "example.com", Kind: erasure.KindIP, IP: "203.0.0.0", From: day(10, 12, 30, 0), To: day(10, 13, 0, 0)}},
		{"the end of a window as a minute is the whole minute", erasure.SelectorInput{Site: "example.com", Kind: "ip", IP: "2001:db8:1:2::5", From: "2026-03-10 12:30", To: "2026-03-10 12:45"},
			privacy.Truncator{}, erasure.Selector{Site: "example.com", Kind: erasure.KindIP, IP: "2001:db8:1::", From: day(10, 12, 30, 0), To: day(10, 12, 45, 59)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := erasure.ParseSelector(c.in, c.tr)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got  %s %q\nwant %s %q", got.Site, got, c.want.Site, c.want)
			}
			// What a form carries to the next step names exactly the same events.
			again, err := erasure.ParseSelector(got.Input(), c.tr)
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Errorf("from its own Input %+v: %+v %v", got.Input(), again, err)
			}
		})
	}
}

// Every mistake is named by its field, with a message the person can act on.
func TestParseSelectorMistakes(t *testing.T) {
	many := make([]string, erasure.MaxIDs+1)
	for i := range many {
		many[i] = "1"
	}
	for _, c := range []struct {
		in      erasure.SelectorInput
		field   string
		message string
	}{
		{erasure.SelectorInput{Kind: "visitor", IDs: []string{"1"}}, "site", "choose a site"},
		{erasure.SelectorInput{Site: "not a domain", Kind: "visitor", IDs: []string{"1"}}, "site", "not a domain"},
		{erasure.SelectorInput{Site: "example.com"}, "kind", "choose what identifies the person"},
		{erasure.SelectorInput{Site: "example.com", Kind: "everything"}, "kind", "choose what identifies the person"},
		{erasure.SelectorInput{Site: "example.com", Kind: "visitor"}, "ids", "give one or more visitor ids"},
		{erasure.SelectorInput{Site: "example.com", Kind: "visitor", IDs: []string{" , "}}, "ids", "give one or more visitor ids"},
		{erasure.SelectorInput{Site: "example.com", Kind: "visitor", IDs: []string{"x1"}}, "ids", `visitor ids are decimal numbers, as /api/me shows them; "x1" is not`},
		{erasure.SelectorInput{Site: "example.com", Kind: "session", IDs: []string{"-1"}}, "ids", "session ids are decimal numbers"},
		{erasure.SelectorInput{Site: "example.com", Kind: "event", IDs: []string{"not-a-uuid"}}, "ids", "event ids are UUIDs"},
		{erasure.SelectorInput{Site: "example.com", Kind: "visitor", IDs: many}, "ids", "at most 1000 ids"},
		{erasure.SelectorInput{Site: "example.com", Kind: "visitor", IDs: []string{"1"}, From: "2026-03-01"}, "from", "go with an address"},
		{erasure.SelectorInput{Site: "example.com", Kind: "event", IDs: []string{"1"}, Page: "/a"}, "page", "go with an address"},
		{erasure.SelectorInput{Site: "example.com", Kind: "ip", IP: "203.0.113.7", From: "2026-03-01", To: "2026-03-02", IDs: []string{"1"}}, "ids", "not with an address"},
		{erasure.SelectorInput{Site: "example.com", Kind: "ip"}, "ip", "give the address"},
		{erasure.SelectorInput{Site: "example.com", Kind: "ip", IP: "203.0.113", From: "2026-03-01", To: "2026-03-02"}, "ip", "not an IPv4 or IPv6 address"},
		{erasure.SelectorInput{Site: "example.com", Kind: "ip", IP: "203.0.113.7"}, "from", "needs a time window"},
		{erasure.SelectorInput{Site: "example.com", Kind: "ip", IP: "203.0.113.7", From: "2026-03-01"}, "to", "needs a time window"},
		{erasure.SelectorInput{Site: "example.com", Kind: "ip", IP: "203.0.113.7", From: "yesterday", To: "2026-03-02"}, "from", "use RFC 3339"},
		{erasure.SelectorInput{Site: "example.com", Kind: "ip", IP: "203.0.113.7", From: "2026-03-02", To: "2026-03-01"}, "to", "ends before it starts"},
	} {
		_, err := erasure.ParseSelector(c.in, privacy.Truncator{})
		var bad *erasure.InputError
		if !errors.As(err, &bad) || bad.Field != c.field || !strings.Contains(bad.Message, c.message) {
			t.Errorf("%+v: %v (%+v), want %s: …%s…", c.in, err, bad, c.field, c.message)
		}
	}
}

// A form shows the fields of every kind at once: OfKind keeps those of the chosen one.
func TestSelectorInputOfKind(t *testing.T) {
	all := erasure.SelectorInput{Site: "example.com", IDs: []string{"1"}, IP: "203.0.113.7", From: "2026-03-01", To: "2026-03-02", Page: "/a"}
	visitor, ip := all, all
	visitor.Kind, ip.Kind = "visitor", "ip"
	if got := visitor.OfKind(); !reflect.DeepEqual(got, erasure.SelectorInput{Site: "example.com", Kind: "visitor", IDs: []string{"1"}}) {
		t.Errorf("visitor: %+v", got)
	}
	want := ip
	want.IDs = nil
	if got := ip.OfKind(); !reflect.DeepEqual(got, want) {
		t.Errorf("ip: %+v", got)
	}
	for _, in := range []erasure.SelectorInput{visitor, ip} {
		if _, err := erasure.ParseSelector(in.OfKind(), privacy.Truncator{}); err != nil {
			t.Errorf("%s: %v", in.Kind, err)
		}
	}
}
