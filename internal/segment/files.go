package segment

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Name is the file name of segment (or companion file) seq: 20 digits and ext (with its
// dot), so that names sort in the order the files were created.
func Name(seq uint64, ext string) string { return fmt.Sprintf("%020d%s", seq, ext) }

// ParseName returns the number in a name made by Name with ext, or, with ext "", in a
// name of 20 digits followed by a dot and anything.
func ParseName(name, ext string) (uint64, bool) {
	digits, rest, ok := strings.Cut(name, ".")
	if !ok || len(digits) != 20 || (ext != "" && "."+rest != ext) {
		return 0, false
	}
	seq, err := strconv.ParseUint(digits, 10, 64)
	return seq, err == nil
}

// SyncDir makes the creation, renaming and removal of entries in dir durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	return nil
}
