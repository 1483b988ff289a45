// Package erasure carries out data subjects' rights on stored events: it finds the
// rows a selector names in every table that holds event data (discovered from the
// database, so a table added later is not missed), exports them, erases them with
// ALTER TABLE … DELETE mutations, waits until the engine reports them done, verifies
// that nothing is left, recomputes the rollups kept by materialized views, and writes
// the erasure ledger (re-applied after a restore) and the audit log.
package erasure

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Kind names what a selector matches on.
type Kind string

// Selector kinds.
const (
	KindVisitor Kind = "visitor" // one or more visitor ids
	KindSession Kind = "session" // one or more session ids
	KindEvent   Kind = "event"   // one or more event ids
	KindIP      Kind = "ip"      // a truncated address in a time window, optionally on some pages
)

// Selector names the events of one data subject on one site. Exactly the fields of
// its Kind are set; From and To, required for an address, may bound any other kind to
// a time window too (the visitor's own forget request: the days whose salts are still
// held), which also bounds the partitions the erasure reads and rewrites. It is what
// the ledger keeps: no event data.
type Selector struct {
	Site     string      `json:"site"`
	Kind     Kind        `json:"kind"`
	Visitors []uint64    `json:"visitors,omitempty"`
	Sessions []uint64    `json:"sessions,omitempty"`
	Events   []uuid.UUID `json:"events,omitempty"`
	IP       string      `json:"ip,omitempty"`   // truncated, as stored
	From     time.Time   `json:"from,omitzero"`  // inclusive
	To       time.Time   `json:"to,omitzero"`    // inclusive
	Page     string      `json:"page,omitempty"` // pathname pattern, * matches anything
}

// Validate checks that the selector names something, and nothing of another kind.
func (s Selector) Validate() error {
	if s.Site == "" {
		return errors.New("erasure: a site is required")
	}
	set := 0
	for _, n := range []int{len(s.Visitors), len(s.Sessions), len(s.Events)} {
		if n > 0 {
			set++
		}
	}
	if s.IP != "" {
		set++
	}
	if set != 1 {
		return errors.New("erasure: give exactly one selector: visitor ids, session ids, event ids, or an address with a time window")
	}
	switch s.Kind {
	case KindVisitor:
		if len(s.Visitors) == 0 {
			return errors.New("erasure: visitor selector without visitor ids")
		}
	case KindSession:
		if len(s.Sessions) == 0 {
			return errors.New("erasure: session selector without session ids")
		}
	case KindEvent:
		if len(s.Events) == 0 {
			return errors.New("erasure: event selector without event ids")
		}
	case KindIP:
		if _, err := netip.ParseAddr(s.IP); err != nil {
			return fmt.Errorf("erasure: address %q: %w", s.IP, err)
		}
		if s.From.IsZero() || s.To.IsZero() || s.To.Before(s.From) {
			return errors.New("erasure: an address needs a time window: --from before --to")
		}
	default:
		return fmt.Errorf("erasure: unknown selector kind %q", s.Kind)
	}
	if !s.From.IsZero() && !s.To.IsZero() && s.To.Before(s.From) {
		return errors.New("erasure: the time window ends before it starts")
	}
	return nil
}

// Value is the selector without its site and kind, as the ledger keeps it (JSON).
func (s Selector) Value() string {
	v := s
	v.Site, v.Kind = "", ""
	b, _ := json.Marshal(v)
	return string(b)
}

// ParseValue is the inverse of Value, for re-applying the ledger.
func ParseValue(site string, kind Kind, value string) (Selector, error) {
	var s Selector
	if err := json.Unmarshal([]byte(value), &s); err != nil {
		return Selector{}, fmt.Errorf("erasure: ledger selector %q: %w", value, err)
	}
	s.Site, s.Kind = site, kind
	return s, s.Validate()
}

// String describes the selector for people (confirmation prompts, the audit log).
func (s Selector) String() string {
	window := ""
	if !s.From.IsZero() {
		window += " since " + s.From.UTC().Format(time.RFC3339)
	}
	if !s.To.IsZero() {
		window += " until " + s.To.UTC().Format(time.RFC3339)
	}
	switch s.Kind {
	case KindVisitor:
		return "visitor " + joinUints(s.Visitors) + window
	case KindSession:
		return "session " + joinUints(s.Sessions) + window
	case KindEvent:
		ids := make([]string, len(s.Events))
		for i, id := range s.Events {
			ids[i] = id.String()
		}
		return "event " + strings.Join(ids, ",") + window
	case KindIP:
		out := fmt.Sprintf("address %s from %s to %s", s.IP, s.From.UTC().Format(time.RFC3339), s.To.UTC().Format(time.RFC3339))
		if s.Page != "" {
			out += " on pages " + s.Page
		}
		return out
	}
	return string(s.Kind)
}

func joinUints(ns []uint64) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = strconv.FormatUint(n, 10)
	}
	return strings.Join(parts, ",")
}
