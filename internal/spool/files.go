package spool

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/websystems/loendur/internal/segment"
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

func segmentName(seq uint64) string { return segment.Name(seq, segmentExt) }
func ackName(seq uint64) string     { return segment.Name(seq, ackExt) }

// quarantineName names the damaged bytes of segment seq from offset off on.
func quarantineName(seq uint64, off int64) string {
	return fmt.Sprintf("%s.%d.bad", segmentName(seq), off)
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
		if err := segment.SyncDir(dir); err != nil {
			return "", err
		}
	}
	path := filepath.Join(qdir, quarantineName(seq, off))
	err := writeDurably(path, func(w io.Writer) error {
		_, err := io.Copy(w, io.NewSectionReader(f, off, size-off))
		return err
	})
	if err == nil {
		err = segment.SyncDir(qdir)
	}
	if err != nil {
		return "", fmt.Errorf("quarantining %s from byte %d: %w", segmentName(seq), off, err)
	}
	return path, nil
}

// writeDurably writes a file through write into a temporary file, syncs it and renames
// it over path, so that a crash leaves the old file or the whole new one. The caller
// syncs the folder.
func writeDurably(path string, write func(io.Writer) error) error {
	tmp := path + tmpExt
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	err = write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
