//go:build !unix

package spool

import "os"

// lockDir opens the LOCK file; outside Unix there is no advisory lock, and one spool
// folder per process is up to the operator.
func lockDir(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
}
