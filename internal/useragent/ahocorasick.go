package useragent

import "errors"

// literalIndex finds, in one pass over a folded user agent, which of many literal
// strings occur in it: an Aho-Corasick automaton turned into a full transition table
// over the bytes that occur in the literals (every other byte is one class). It tells
// the second crawler list which of its ~1500 patterns are worth running (see
// patternlist.go); a user agent is at most MaxLen bytes, so a scan is a few hundred
// table look-ups.
type literalIndex struct {
	class  [256]uint8 // byte -> column of next; 0 is "a byte no literal has"
	width  int        // columns per state
	next   []int32    // state*width + class -> state
	output [][]int32  // state -> ids of the literals ending there (also via shorter suffixes)
}

// maxIndexStates bounds the automaton: the table is states × classes × 4 bytes.
const maxIndexStates = 1 << 20

// newLiteralIndex builds the index of lits, where lits[i] is the literal of id ids[i].
// Empty literals are an error: they would match everything and belong elsewhere.
func newLiteralIndex(lits []string, ids []int32) (*literalIndex, error) {
	x := &literalIndex{width: 1}
	for _, l := range lits {
		if l == "" {
			return nil, errors.New("useragent: empty literal in index")
		}
		for i := 0; i < len(l); i++ {
			if x.class[l[i]] == 0 {
				if x.width == 256 {
					return nil, errors.New("useragent: too many byte classes")
				}
				x.class[l[i]] = uint8(x.width)
				x.width++
			}
		}
	}
	// The trie: goto edges stored in the table directly, -1 while missing.
	x.next = newRow(nil, x.width)
	x.output = [][]int32{nil}
	for i, l := range lits {
		s := int32(0)
		for j := 0; j < len(l); j++ {
			cell := int(s)*x.width + int(x.class[l[j]])
			if x.next[cell] < 0 {
				if len(x.output) >= maxIndexStates {
					return nil, errors.New("useragent: literal index too large")
				}
				x.next[cell] = int32(len(x.output))
				x.next = newRow(x.next, x.width)
				x.output = append(x.output, nil)
			}
			s = x.next[cell]
		}
		x.output[s] = append(x.output[s], ids[i])
	}
	x.link()
	return x, nil
}

func newRow(table []int32, width int) []int32 {
	for range width {
		table = append(table, -1)
	}
	return table
}

// link fills the missing edges breadth first: a missing edge of a state goes where its
// longest proper suffix in the trie (its failure state) goes, and each state inherits
// the outputs of its failure state.
func (x *literalIndex) link() {
	fail := make([]int32, len(x.output))
	queue := make([]int32, 0, len(x.output))
	for c := range x.width {
		if t := x.next[c]; t < 0 {
			x.next[c] = 0
		} else {
			queue = append(queue, t) // fail[t] = 0
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		x.output[s] = append(x.output[s], x.output[fail[s]]...)
		for c := range x.width {
			cell := int(s)*x.width + c
			t := x.next[cell]
			via := x.next[int(fail[s])*x.width+c]
			if t < 0 {
				x.next[cell] = via
				continue
			}
			fail[t] = via
			queue = append(queue, t)
		}
	}
}

// scan calls hit with the id of every literal occurrence in s, in order of where it
// ends, until hit returns true; it reports whether one did.
func (x *literalIndex) scan(s string, hit func(id int32) bool) bool {
	st := int32(0)
	for i := 0; i < len(s); i++ {
		st = x.next[int(st)*x.width+int(x.class[s[i]])]
		for _, id := range x.output[st] {
			if hit(id) {
				return true
			}
		}
	}
	return false
}
