// Command loendur is first-party, cookieless web analytics: the beacon collector and
// the staff dashboard in one binary.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
)

const usage = `loendur — privacy-respecting web analytics

Usage:
  loendur serve [flags]                      run the collector and dashboard (see loendur serve -help)
  loendur user add EMAIL --role admin|manager [--sites a.com,b.com] [--db DSN]
                                             add a staff account; a password piped on stdin is used,
                                             otherwise one is generated and printed once
  loendur key add EMAIL [--db DSN]           print a new API key for that account
  loendur erase --site DOMAIN (--visitor ID | --session ID | --ip ADDR --from T --to T [--page P] | --event ID)
                [--yes] [--by WHO] [--db DSN]      erase a data subject's events everywhere, verified and recorded
  loendur export (same selectors) [--format json|csv] [--db DSN]
                                             export a data subject's events
  loendur import --site DOMAIN [--source plausible|goatcounter|ga4] [--db DSN] FILE
                                             import history: Plausible's CSV export (ZIP), GoatCounter's
                                             CSV export, GA4's BigQuery export (NDJSON or Parquet)
  loendur import list [--site DOMAIN] | delete --site DOMAIN ID
                                             list or delete imports
  loendur export --site DOMAIN --format plausible|csv|parquet [--db DSN] FILE
                                             a site's aggregates as Plausible's export, or its raw events
  loendur backup [--db DSN] [--http-port N] DIR
  loendur restore [--db DSN] [--http-port N] DIR
                                             restore every table, then re-apply the erasure ledger
  loendur version                            print the version
`

var version = "dev"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = runServe(os.Args[2:])
	case "user":
		err = runUser(os.Args[2:], os.Stdin, os.Stdout)
	case "key":
		err = runKey(os.Args[2:], os.Stdout)
	case "erase":
		err = runErase(os.Args[2:], os.Stdin, os.Stdout)
	case "export":
		err = runExport(os.Args[2:], os.Stdout)
	case "import":
		err = runImport(os.Args[2:], os.Stdout)
	case "backup":
		err = runBackup(os.Args[2:], os.Stdout)
	case "restore":
		err = runRestore(os.Args[2:], os.Stdout)
	case "version":
		fmt.Println("loendur", version)
	case "-h", "-help", "--help", "help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "loendur: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loendur:", err)
		os.Exit(1)
	}
}
