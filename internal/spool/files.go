package spool

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// File names in the spool folder. Segments are numbered in the order they were
// created, so the names sort in replay order.
const (
	segmentExt    = ".seg"
	ackExt        = ".ack"
	tmpExt        = ".tmp"
	quarantineDir = "quarantine"
	lockName      = "LOCK"
)

func segmentName(seq uint64) string { return fmt.Sprintf("%020d%s", seq, segmentExt) }
func ackName(seq uint64) string     { return fmt.Sprintf("%020d%s", seq, ackExt) }

// quarantineName names the damaged bytes of segment seq from offset off on.
func quarantineName(seq uint64, off int64) string {
	return fmt.Sprintf("%s.%d.bad", segmentName(seq), off)
}

// parseSeq returns the sequence number of a spool file name: 20 digits, then ext
// (".seg", ".ack"), or, with ext "", anything after a dot (quarantine files).
func parseSeq(name, ext string) (uint64, bool) {
	digits, rest, ok := strings.Cut(name, ".")
	if !ok || len(digits) != 20 || (ext != "" && "."+rest != ext) {
		return 0, false
	}
	seq, err := strconv.ParseUint(digits, 10, 64)
	return seq, err == nil
}

// syncDir makes the creation, renaming and removal of entries in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// quarantine copies the bytes of f from off to size into the quarantine folder, durably,
// and returns the new file's path. It writes a temporary file and renames it, so that a
// crash leaves either nothing or the whole copy; a second attempt for the same damage
// (a crash between the copy and the truncation) replaces the first.
func quarantine(dir string, f *os.File, seq uint64, off, size int64) (string, error) {
	qdir := filepath.Join(dir, quarantineDir)
	if _, err := os.Stat(qdir); os.IsNotExist(err) {
		if err := os.Mkdir(qdir, 0o700); err != nil {
			return "", err
		}
		if err := syncDir(dir); err != nil {
			return "", err
		}
	}
	path := filepath.Join(qdir, quarantineName(seq, off))
	tmp := path + tmpExt
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", err
	}
	_, err = io.Copy(out, io.NewSectionReader(f, off, size-off))
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(qdir)
	}
	if err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("quarantining %s from byte %d: %w", segmentName(seq), off, err)
	}
	return path, nil
}
