package derived

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// SampleTable is a table of the visits of one visitor in Rate, picked by a hash of
// visitor_id (so the pick is as good as random, whatever the ids are, and keeps each
// visitor whole): a report over a period too large to read every visit in time reads
// these and scales the counts up by Rate, as other analytics tools do past some
// millions of visits.
// Every visit of a sampled visitor is there, so a visitor's figures (unique visitors,
// funnels, entry and exit pages) keep their meaning.
type SampleTable struct {
	Name string
	Rate int
	// MaxRate is the smallest part of the sample a report may read: one visitor in
	// MaxRate. The table is sorted by that part first (Part), so that reading half of
	// the sample, or a quarter, reads that share of its granules, not all of them.
	MaxRate  int
	Version  uint32 // the migration that creates it
	Replaces string // the table (and its view) of the first layout, which the migration drops
}

// VisitSample is the sample of the sessions table. A materialized view copies the
// sampled visitors' rows as the finalizer writes them; the rebuild of visits deletes
// its rows with the sessions table's (VisitTable.rebuild) and erasure and retention
// find it by its visitor_id and start_time like the sessions table.
var VisitSample = SampleTable{Name: "visit_sample", Rate: 32, MaxRate: 1024, Version: 85, Replaces: "sessions_sample"}

// firstSample is the sample's first layout (migration 84), sorted like the sessions
// table: half of it cost nearly what all of it did. Its statements stay as they ran.
var firstSample = SampleTable{Name: "sessions_sample", Rate: 32, MaxRate: 32, Version: 84}

// View is the name of the materialized view that keeps the sample.
func (s SampleTable) View() string { return s.Name + "_mv" }

// Where is the condition on visitor_id that picks the sample's visitors, for visits
// and for events alike. Hashed: the ids of imported or generated visitors may have a
// pattern, and on a cluster the shards are picked by visitor_id itself.
func (s SampleTable) Where() string {
	return "intHash64(visitor_id) % " + strconv.Itoa(s.Rate) + " = 0"
}

// WhereAt is Where for one visitor in rate, a multiple of Rate by a power of two up to
// MaxRate: a part of the sample, for a period so large that the sample itself is more
// than a report can read in time. The part is a range of Part, the table's first sort
// key after the site.
func (s SampleTable) WhereAt(rate int) string {
	if rate <= s.Rate {
		return s.Where()
	}
	return s.Where() + " AND " + s.Part() + " < " + strconv.Itoa(s.parts(rate))
}

// Part is the sample's visitors split by the top bits of the same hash into
// MaxRate/Rate parts of equal size (the low bits picked the sample).
func (s SampleTable) Part() string {
	return "bitShiftRight(intHash64(visitor_id), " + strconv.Itoa(s.partShift()) + ")"
}

func (s SampleTable) partShift() int { return 64 - bits.TrailingZeros(uint(s.MaxRate/s.Rate)) }

// parts is how many of the MaxRate/Rate parts one visitor in rate reads.
func (s SampleTable) parts(rate int) int { return s.MaxRate / rate }

// Has says whether the visitor is in the sample, as Where decides.
func (s SampleTable) Has(visitorID uint64) bool { return s.HasAt(visitorID, s.Rate) }

// HasAt says whether the visitor is in the part of the sample WhereAt(rate) picks.
func (s SampleTable) HasAt(visitorID uint64, rate int) bool {
	h := intHash64(visitorID)
	if h%uint64(s.Rate) != 0 {
		return false
	}
	return rate <= s.Rate || h>>s.partShift() < uint64(s.parts(rate))
}

// intHash64 is ClickHouse's function of that name: MurmurHash3's 64-bit finalizer of
// the id mixed with a constant.
func intHash64(x uint64) uint64 {
	x ^= 0x4CF2D2BAAE6DA887
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// DDL renders the table, its view and the fill of an upgraded database's visits, then
// drops the table this one replaces.
func (s SampleTable) DDL() []string {
	cols := strings.Join(Visits.ColumnNames(), ", ")
	order := visitOrder
	if s.MaxRate > s.Rate {
		order = "(site, " + s.Part() + ", toDate(start_time), session_id)"
	}
	view := "CREATE MATERIALIZED VIEW IF NOT EXISTS " + s.View() + " TO " + s.Name + " AS\nSELECT " + cols +
		"\nFROM " + SessionsTable + "\nWHERE " + s.Where()
	// Only the visits not there yet, so that a second run, or one after a fill cut
	// short, adds what is missing and nothing twice. GLOBAL: on a cluster the list is
	// read here, not by each shard. (Migration 84 first filled only an empty table; a
	// database that ran it so has its sample refilled by migration 85.)
	missing := " AND (site, session_id) GLOBAL NOT IN (SELECT site, session_id FROM " + s.Name + ")"
	fill := "INSERT INTO " + s.Name + " (" + cols + ") SELECT " + cols + "\nFROM " + SessionsTable +
		" FINAL\nWHERE " + s.Where() + missing
	out := []string{Visits.tableDDL(s.Name, order), view, fill}
	if s.Replaces != "" {
		old := SampleTable{Name: s.Replaces}
		out = append(out, "DROP TABLE IF EXISTS "+old.View(), "DROP TABLE IF EXISTS "+old.Name)
	}
	return out
}

func (s SampleTable) migration() Migration {
	return Migration{Version: s.Version, Name: fmt.Sprintf("%04d_%s.derived", s.Version, s.Name), Statements: s.DDL()}
}
