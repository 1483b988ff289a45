package reports

import (
	"context"
	"fmt"
	"time"

	"github.com/websystems/loendur/internal/derived"
)

// DefaultSampleAbove is how many visits a period may have before its reports read the
// visit sample (derived.VisitSample): below it every visit is read in well under a
// second on two cores; above it the sample still holds this ÷ the rate visits or more,
// enough for totals within about one percent.
const DefaultSampleAbove = 1_000_000

// sampledVisits is about how many visits a sampled report reads at most: a period with
// more than this many in the sample reads half of it, or a quarter, and so on
// (derived.VisitSample.WhereAt), so that a year of the largest site costs what a month
// does. 200,000 visits keep a page seen by 1 % of them within about 5 % (2,000 sampled
// visitors: a standard error of 2.2 %), and totals within about 1 %.
const sampledVisits = 200_000

// sampleRateHeader carries a CSV answer's sample_rate (the JSON one has it in the body).
const sampleRateHeader = "X-Sample-Rate"

// SampleParam is the query parameter that turns sampling off (?sample=off): exact
// figures, however long they take.
const SampleParam = "sample"

// SampleRate is the rate q's visits are to be read at: 1 when the current period has
// no more visits than Deps.SampleAbove; else derived.VisitSample.Rate, doubled until
// about sampledVisits are read. The count is of the visits written so far (the per-day
// visit rollup, a row per day): a site's last hour is never what makes a period large.
func (rep *Service) SampleRate(ctx context.Context, q Query) (int, error) {
	if rep.sampleAbove < 0 {
		return 1, nil
	}
	sql, err := render("sample_rate", struct {
		Site     string
		From, To time.Time // UTC days
	}{q.Site, q.Range.Start.UTC(), q.Range.End.UTC()})
	if err != nil {
		return 0, err
	}
	var rows []struct {
		N uint64 `ch:"n"`
	}
	if err := rep.query(ctx, "sample", &rows, sql); err != nil {
		return 0, fmt.Errorf("estimate visits: %w", err)
	}
	if len(rows) == 0 || rows[0].N <= uint64(rep.sampleAbove) {
		return 1, nil
	}
	rate := derived.VisitSample.Rate
	for rows[0].N/uint64(rate) > sampledVisits && rate < derived.VisitSample.MaxRate {
		rate *= 2
	}
	return rate, nil
}

// sampleable says whether a report under fs reads visits, so that a sample can answer
// it: not realtime (five minutes of events), not dropped events (counters), and not
// custom events without other filters (their rollups answer exactly, and fast).
func sampleable(report string, fs Filters) bool {
	switch report {
	case "realtime", "dropped":
		return false
	case "events":
		return len(fs.Without(FilterEvent)) > 0
	}
	return true
}
