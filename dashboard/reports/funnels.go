package reports

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/store/literal"
)

// Funnel step types.
const (
	StepPage  = "page"  // a page view whose path matches Value (`*` wildcards)
	StepEvent = "event" // a custom event named Value

	MinFunnelSteps = 2
	MaxFunnelSteps = 8
)

// ErrFunnelNotFound is returned for a funnel id the site does not have.
var ErrFunnelNotFound = errors.New("funnel not found")

// Step is one stage of a funnel.
type Step struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Funnel is an ordered list of steps a visit goes through, defined by an admin.
type Funnel struct {
	ID      string    `json:"id"`
	Site    string    `json:"site"`
	Name    string    `json:"name"`
	Steps   []Step    `json:"steps"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

// Validate checks a funnel's name and steps; the error says what to fix.
func (f *Funnel) Validate() error {
	f.Name = strings.TrimSpace(f.Name)
	if f.Name == "" || utf8.RuneCountInString(f.Name) > 100 {
		return badRequest("funnel name: 1 to 100 characters")
	}
	if len(f.Steps) < MinFunnelSteps || len(f.Steps) > MaxFunnelSteps {
		return badRequest("a funnel has %d to %d steps", MinFunnelSteps, MaxFunnelSteps)
	}
	for i := range f.Steps {
		s := &f.Steps[i]
		s.Value = strings.TrimSpace(s.Value)
		switch s.Type {
		case StepPage:
			if !strings.HasPrefix(s.Value, "/") && !strings.HasPrefix(s.Value, "*") || len(s.Value) > maxFilterValue {
				return badRequest("step %d: a page is a path starting with / (use * as a wildcard), at most %d bytes", i+1, maxFilterValue)
			}
		case StepEvent:
			if s.Value == "" || len(s.Value) > 120 || s.Value == "pageview" || s.Value == "engagement" {
				return badRequest("step %d: name a custom event (at most 120 bytes; page views are page steps)", i+1)
			}
		default:
			return badRequest("step %d: type must be %q or %q", i+1, StepPage, StepEvent)
		}
	}
	return nil
}

// condition is the step as a condition on (n, p): an event's name and path.
func (s Step) condition() string {
	if s.Type == StepEvent {
		return "n = " + literal.Quote(s.Value)
	}
	return "n = 'pageview' AND " + matchPath("p", s.Value)
}

// label is how the step reads in a report row.
func (s Step) label() string {
	if s.Type == StepEvent {
		return "Event: " + s.Value
	}
	return "Visit " + s.Value
}

// Funnels lists the funnels of site, oldest first.
func (rep *Service) Funnels(ctx context.Context, site string) ([]Funnel, error) {
	return rep.readFunnels(ctx, site, "")
}

// Funnel returns one funnel of site.
func (rep *Service) Funnel(ctx context.Context, site, id string) (Funnel, error) {
	fs, err := rep.readFunnels(ctx, site, id)
	if err != nil {
		return Funnel{}, err
	}
	if len(fs) == 0 {
		return Funnel{}, ErrFunnelNotFound
	}
	return fs[0], nil
}

func (rep *Service) readFunnels(ctx context.Context, site, id string) ([]Funnel, error) {
	sql, err := render("funnels_list", struct{ Site, ID string }{site, id})
	if err != nil {
		return nil, err
	}
	var rows []struct {
		ID      string    `ch:"id"`
		Name    string    `ch:"f_name"`
		Kinds   []string  `ch:"f_kinds"`
		Values  []string  `ch:"f_values"`
		Created time.Time `ch:"f_created"`
		Updated time.Time `ch:"f_updated"`
		Deleted uint8     `ch:"f_deleted"`
	}
	if err := rep.query(ctx, "funnels", &rows, sql); err != nil {
		return nil, err
	}
	out := make([]Funnel, 0, len(rows))
	for _, row := range rows {
		f := Funnel{ID: row.ID, Site: site, Name: row.Name, Created: row.Created.UTC(), Updated: row.Updated.UTC()}
		for i := range row.Kinds {
			if i < len(row.Values) {
				f.Steps = append(f.Steps, Step{Type: row.Kinds[i], Value: row.Values[i]})
			}
		}
		out = append(out, f)
	}
	return out, nil
}

// SaveFunnel creates f (when f.ID is empty) or replaces the funnel with its id.
func (rep *Service) SaveFunnel(ctx context.Context, f Funnel) (Funnel, error) {
	if err := f.Validate(); err != nil {
		return Funnel{}, err
	}
	now := rep.now().UTC().Truncate(time.Second)
	if f.ID == "" {
		f.ID = uuid.NewString()
		f.Created = now
	} else {
		old, err := rep.Funnel(ctx, f.Site, f.ID)
		if err != nil {
			return Funnel{}, err
		}
		f.Created = old.Created
	}
	f.Updated = now
	if err := rep.writeFunnel(ctx, f, false); err != nil {
		return Funnel{}, err
	}
	return f, nil
}

// DeleteFunnel removes the funnel id of site.
func (rep *Service) DeleteFunnel(ctx context.Context, site, id string) error {
	f, err := rep.Funnel(ctx, site, id)
	if err != nil {
		return err
	}
	f.Updated = rep.now().UTC().Truncate(time.Second)
	return rep.writeFunnel(ctx, f, true)
}

func (rep *Service) writeFunnel(ctx context.Context, f Funnel, deleted bool) error {
	kinds := make([]string, len(f.Steps))
	values := make([]string, len(f.Steps))
	for i, s := range f.Steps {
		kinds[i], values[i] = s.Type, s.Value
	}
	var del uint8
	if deleted {
		del = 1
	}
	err := rep.db.Insert(ctx, "funnels",
		[]string{"site", "id", "name", "step_kinds", "step_values", "created", "updated", "deleted", "version"},
		[][]any{{f.Site, f.ID, f.Name, kinds, values, f.Created, f.Updated, del, uint64(time.Now().UnixNano())}})
	if err != nil {
		return fmt.Errorf("save funnel %s of %s: %w", f.ID, f.Site, err)
	}
	return nil
}

// FunnelReport answers how many visitors went through each step of f within a visit:
// visitors and visits per step, conversion from the first step and the drop-off from
// the step before, both in percent.
func (rep *Service) FunnelReport(ctx context.Context, q Query, f Funnel) ([]Row, error) {
	s, err := rep.scope(ctx, q)
	if err != nil {
		return nil, err
	}
	data := s.visitsData(s.Range)
	for _, st := range f.Steps {
		data.Steps = append(data.Steps, st.condition())
	}
	sql, err := render("funnel", data)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		Step     uint32 `ch:"step"`
		Visitors uint64 `ch:"n_visitors"`
		Visits   uint64 `ch:"n_visits"`
	}
	if err := rep.query(ctx, "funnel", &rows, sql); err != nil {
		return nil, err
	}
	counts := make([]uint64, len(f.Steps))
	visits := make([]uint64, len(f.Steps))
	for _, row := range rows {
		s.scaleUp(&row.Visitors, &row.Visits)
		if i := int(row.Step) - 1; i >= 0 && i < len(counts) {
			counts[i], visits[i] = row.Visitors, row.Visits
		}
	}
	out := make([]Row, len(f.Steps))
	for i, st := range f.Steps {
		prev := counts[0]
		if i > 0 {
			prev = counts[i-1]
		}
		dropped := prev - min(prev, counts[i])
		out[i] = Row{{"step", i + 1}, {"type", st.Type}, {"value", st.Value}, {"label", st.label()},
			{"visitors", counts[i]}, {"visits", visits[i]},
			{"conversion_rate", percent(float64(counts[i]), float64(counts[0]))},
			{"dropoff", dropped}, {"dropoff_rate", percent(float64(dropped), float64(prev))}}
	}
	return out, nil
}
