package spool

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/websystems/loendur/internal/segment"
)

// Repair is a site's UTC day whose derived tables must be computed again from its
// events. A replayed batch can leave one: its insert may have stored the events and died
// before the materialized views wrote their parts, and an insert that lands after the
// visits of its time were written is not in them. The recomputation waits until nothing
// writes the day any more (see collector), so the day is kept here, durably, before the
// batch is acknowledged: a crash in between must not forget it. An erasure of today's
// events leaves one too (internal/erasure): its own recomputation ran while the site
// was being written.
type Repair struct {
	Site string `json:"site"`
	Day  string `json:"day"` // YYYY-MM-DD
}

const (
	repairsName    = "repairs"
	repairsBadName = "repairs.bad"
)

// AddRepairs records days to repair, durably.
func (s *Spool) AddRepairs(rs []Repair) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	next := make(map[Repair]bool, len(s.repairs)+len(rs))
	for r := range s.repairs {
		next[r] = true
	}
	for _, r := range rs {
		next[r] = true
	}
	return s.saveRepairs(next)
}

// Repairs lists the days waiting to be repaired, by site and day.
func (s *Spool) Repairs() []Repair {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedRepairs(s.repairs)
}

// Repaired forgets a repaired day, durably.
func (s *Spool) Repaired(r Repair) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if !s.repairs[r] {
		return nil
	}
	next := make(map[Repair]bool, len(s.repairs))
	for k := range s.repairs {
		if k != r {
			next[k] = true
		}
	}
	return s.saveRepairs(next)
}

func sortedRepairs(set map[Repair]bool) []Repair {
	out := make([]Repair, 0, len(set))
	for r := range set {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Repair) int {
		return strings.Compare(a.Site+"\x00"+a.Day, b.Site+"\x00"+b.Day)
	})
	return out
}

// saveRepairs replaces the repairs file by set (a temporary file renamed over it, so a
// crash leaves the old list or the new one) and then s.repairs.
func (s *Spool) saveRepairs(set map[Repair]bool) error {
	path := filepath.Join(s.dir, repairsName)
	if len(set) == 0 {
		if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("spool: repairs: %w", err)
		}
	} else if err := writeDurably(path, func(w io.Writer) error { return json.NewEncoder(w).Encode(sortedRepairs(set)) }); err != nil {
		return fmt.Errorf("spool: repairs: %w", err)
	}
	if err := segment.SyncDir(s.dir); err != nil {
		return fmt.Errorf("spool: repairs: %w", err)
	}
	s.repairs = set
	s.m.repairs.Set(float64(len(set)))
	return nil
}

// loadRepairs reads the repairs file. One that cannot be read is moved aside (to
// repairs.bad, for the operator) and logged: its days keep what they hold until an
// operator rebuilds them, and the spool's batches still replay.
func (s *Spool) loadRepairs() {
	s.repairs = map[Repair]bool{}
	path := filepath.Join(s.dir, repairsName)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	var list []Repair
	if err == nil {
		err = json.Unmarshal(data, &list)
	}
	if err != nil {
		s.log.Error("spool: the list of days whose rollups wait for a repair is unreadable; moved aside, those days are not repaired",
			"file", path, "moved_to", repairsBadName, "err", err)
		if err := os.Rename(path, filepath.Join(s.dir, repairsBadName)); err != nil {
			s.log.Error("spool: moving the unreadable repairs file aside", "err", err)
		}
		return
	}
	for _, r := range list {
		s.repairs[r] = true
	}
	s.m.repairs.Set(float64(len(s.repairs)))
}
