package reports

import (
	"context"

	"github.com/websystems/loendur/internal/derived"
)

// finalizer is the one serve runs, over the same database, sites and clock as rep.
func (rep *Service) finalizer() *derived.Finalizer {
	f, err := derived.NewFinalizer(derived.FinalizerOptions{DB: rep.db, Sites: rep.sites, Log: rep.log, Now: rep.now})
	if err != nil {
		panic(err)
	}
	return f
}

// Finalize writes the ended visits of site as serve's finalizer would, for tests and
// benchmarks that read the reports from the sessions table.
func (rep *Service) Finalize(ctx context.Context, site string) (int, error) {
	return rep.finalizer().Finalize(ctx, site)
}
