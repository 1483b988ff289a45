package reports

import (
	"context"

	"github.com/websystems/loendur/internal/dropcount"
)

// Dropped answers how many events of the site the collector answered but did not store
// in the period, by reason (bot, excluded, burst, viewport, gpc, dnt), largest first. The
// counts are kept per UTC day, so the period's dates are read as UTC days; filters do
// not apply (nothing about a dropped event is kept to filter on).
func (rep *Service) Dropped(ctx context.Context, q Query) ([]Row, error) {
	counts, err := dropcount.ByReason(ctx, rep.db, q.Site, q.Range.From, q.Range.To)
	if err != nil {
		return nil, err
	}
	rows := make([]Row, 0, len(counts))
	for _, c := range counts {
		rows = append(rows, Row{{"reason", c.Reason}, {"events", c.Events}})
	}
	return rows, nil
}
