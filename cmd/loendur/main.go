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
  loendur share add --site DOMAIN [--name N] [--password-stdin] [--expires YYYY-MM-DD] [--csv]
                [--embed-origin ORIGIN]... [--db DSN]   print the path of a new read-only link to the site's reports
  loendur share list --site DOMAIN [--db DSN]   the site's links (not revoked)
  loendur share revoke --site DOMAIN ID [--db DSN]
  loendur erase --site DOMAIN (--visitor ID | --session ID | --ip ADDR --from T --to T [--page P] | --event ID)
                [--yes] [--by WHO] [--db DSN]      erase a data subject's events everywhere, verified and recorded
  loendur export (same selectors) [--format json|csv] [--db DSN]
                                             export a data subject's events
  loendur privacy --site DOMAIN [--lang en|et] [--format text|html|json] [--db DSN]
                                             the site's consent-exemption check and privacy notice
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
  loendur sites exclusions DOMAIN [--db DSN]  list the traffic excluded from a site's figures
  loendur sites exclude DOMAIN [--user-agent TEXT]... [--address ADDR|CIDR]... [--remove] [--db DSN]
                                             exclude (or with --remove, stop excluding) a monitor, an office…
  loendur report send --site DOMAIN --period 7d|30d|month --to ADDRESS --smtp URL --mail-from ADDRESS [--db DSN]
                                             send one e-mail report now
  loendur report schedule --site DOMAIN [--weekly] [--monthly] --to ADDRESS,…   [--db DSN]
  loendur alert set --site DOMAIN [--stopped-hours N] [--spike] [--to ADDRESS,…] [--webhook URL] [--db DSN]
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
	case "share":
		err = runShare(os.Args[2:], os.Stdin, os.Stdout)
	case "erase":
		err = runErase(os.Args[2:], os.Stdin, os.Stdout)
	case "export":
		err = runExport(os.Args[2:], os.Stdout)
	case "privacy":
		err = runPrivacy(os.Args[2:], os.Stdout)
	case "import":
		err = runImport(os.Args[2:], os.Stdout)
	case "backup":
		err = runBackup(os.Args[2:], os.Stdout)
	case "restore":
		err = runRestore(os.Args[2:], os.Stdout)
	case "sites":
		err = runSites(os.Args[2:], os.Stdout)
	case "report":
		err = runReport(os.Args[2:], os.Stdout)
	case "alert":
		err = runAlert(os.Args[2:], os.Stdout)
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
