package main

import (
	"flag"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/websystems/loendur/dashboard/reports"
	"github.com/websystems/loendur/internal/acceptlog"
	"github.com/websystems/loendur/internal/erasure"
)

// --accept-log-sync: its default, the flag, LOENDUR_ACCEPT_LOG_SYNC (the flag wins), 0,
// and a negative value refused.
func TestAcceptLogSyncConfig(t *testing.T) {
	parse := func(args ...string) (time.Duration, error) {
		t.Helper()
		cfg, err := parseServeConfig(args)
		return cfg.AcceptLogSync, err
	}
	if d, err := parse(); err != nil || d != acceptlog.DefaultSyncInterval {
		t.Errorf("default: %v, %v; want %v", d, err, acceptlog.DefaultSyncInterval)
	}
	if d, err := parse("--accept-log-sync", "250ms"); err != nil || d != 250*time.Millisecond {
		t.Errorf("flag: %v, %v; want 250ms", d, err)
	}
	if d, err := parse("--accept-log-sync", "0"); err != nil || d != 0 {
		t.Errorf("0: %v, %v; want 0 (fsync only at delivery)", d, err)
	}
	t.Setenv("LOENDUR_ACCEPT_LOG_SYNC", "2s")
	if d, err := parse(); err != nil || d != 2*time.Second {
		t.Errorf("environment: %v, %v; want 2s", d, err)
	}
	if d, err := parse("--accept-log-sync", "50ms"); err != nil || d != 50*time.Millisecond {
		t.Errorf("flag and environment: %v, %v; want the flag's 50ms", d, err)
	}
	if _, err := parse("--accept-log-sync", "-1s"); err == nil || !strings.Contains(err.Error(), "--accept-log-sync") {
		t.Errorf("negative: %v; want an error naming --accept-log-sync", err)
	}
}

// --sample-above: its default, LOENDUR_SAMPLE_ABOVE, 0 (never: a negative threshold
// for the reports), and a negative value refused.
func TestSampleAboveConfig(t *testing.T) {
	parse := func(args ...string) (int, error) {
		t.Helper()
		cfg, err := parseServeConfig(args)
		return cfg.SampleAbove, err
	}
	if n, err := parse(); err != nil || n != reports.DefaultSampleAbove || sampleAbove(n) != n {
		t.Errorf("default: %d, %v; want %d", n, err, reports.DefaultSampleAbove)
	}
	t.Setenv("LOENDUR_SAMPLE_ABOVE", "5000000")
	if n, err := parse(); err != nil || n != 5_000_000 {
		t.Errorf("environment: %d, %v; want 5000000", n, err)
	}
	if n, err := parse("--sample-above", "0"); err != nil || n != 0 || sampleAbove(n) >= 0 {
		t.Errorf("0: %d, %v, reports get %d; want never to sample", n, err, sampleAbove(n))
	}
	if _, err := parse("--sample-above", "-1"); err == nil || !strings.Contains(err.Error(), "--sample-above") {
		t.Errorf("negative: %v; want an error naming --sample-above", err)
	}
}

// The subcommands' environment variables: a good value is used, the flag wins over it,
// and a bad one is an error naming the variable, like the serve configuration's, instead
// of being ignored for the default.
func TestSubcommandEnvironment(t *testing.T) {
	selector := func(args ...string) (erasure.Selector, error) {
		t.Helper()
		fs := flag.NewFlagSet("export", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		return parseSelector(fs, addSelectorFlags(fs), args, "export", "")
	}
	byIP := []string{"--site", "example.com", "--ip", "203.45.113.9", "--from", "2026-04-02", "--to", "2026-04-02"}
	t.Setenv("LOENDUR_IPV4_PREFIX", "8")
	if sel, err := selector(byIP...); err != nil || sel.IP != "203.0.0.0" {
		t.Errorf("LOENDUR_IPV4_PREFIX=8: ip %q, %v; want 203.0.0.0", sel.IP, err)
	}
	if sel, err := selector(append([]string{"--ipv4-prefix", "16"}, byIP...)...); err != nil || sel.IP != "203.45.0.0" {
		t.Errorf("--ipv4-prefix 16 and LOENDUR_IPV4_PREFIX=8: ip %q, %v; want the flag's 203.45.0.0", sel.IP, err)
	}
	t.Setenv("LOENDUR_IPV4_PREFIX", "sixteen")
	if _, err := selector(byIP...); err == nil || !strings.Contains(err.Error(), "LOENDUR_IPV4_PREFIX") {
		t.Errorf("LOENDUR_IPV4_PREFIX=sixteen: %v; want an error naming it", err)
	}
	t.Setenv("LOENDUR_IPV4_PREFIX", "")
	os.Unsetenv("LOENDUR_IPV4_PREFIX")
	t.Setenv("LOENDUR_IPV6_PREFIX", "48 bits")
	if _, err := selector("--site", "example.com", "--visitor", "1"); err == nil || !strings.Contains(err.Error(), "LOENDUR_IPV6_PREFIX") {
		t.Errorf("LOENDUR_IPV6_PREFIX=48 bits: %v; want an error naming it", err)
	}

	backup := func(args ...string) (int, error) {
		fs := flag.NewFlagSet("backup", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		port, _, err := parseHTTPPortAndDir(fs, args)
		return *port, err
	}
	t.Setenv("LOENDUR_CH_HTTP_PORT", "18124")
	if port, err := backup("dir"); err != nil || port != 18124 {
		t.Errorf("LOENDUR_CH_HTTP_PORT=18124: %d, %v", port, err)
	}
	if port, err := backup("--http-port", "8124", "dir"); err != nil || port != 8124 {
		t.Errorf("--http-port 8124 and LOENDUR_CH_HTTP_PORT=18124: %d, %v; want the flag's", port, err)
	}
	t.Setenv("LOENDUR_CH_HTTP_PORT", "eighty")
	if _, err := backup("dir"); err == nil || !strings.Contains(err.Error(), "LOENDUR_CH_HTTP_PORT") {
		t.Errorf("LOENDUR_CH_HTTP_PORT=eighty: %v; want an error naming it", err)
	}
}

// The notice's settings of serve: LOENDUR_AGENCY_DOMAINS and LOENDUR_PUBLIC_URL are read
// and normalised, the flag wins, and bad values are refused with the flag's name.
func TestNoticeConfig(t *testing.T) {
	t.Setenv("LOENDUR_AGENCY_DOMAINS", "Agency.Example, mail.agency.example")
	t.Setenv("LOENDUR_AGENCY_NAME", "Agentuur OÜ")
	t.Setenv("LOENDUR_PUBLIC_URL", "https://stats.agency.example/")
	cfg, err := parseServeConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	o, err := cfg.Notice.options()
	if err != nil || o.Agency.Name != "Agentuur OÜ" || strings.Join(o.Agency.Domains, ",") != "agency.example,mail.agency.example" ||
		cfg.Mail.PublicURL != "https://stats.agency.example/" {
		t.Errorf("from the environment: %+v %q %v", o, cfg.Mail.PublicURL, err)
	}
	if cfg, err = parseServeConfig([]string{"--agency-domains", "other.example"}); err != nil || strings.Join(cfg.Notice.AgencyDomains, ",") != "other.example" {
		t.Errorf("flag and environment: %v %v; want the flag's", cfg.Notice.AgencyDomains, err)
	}
	for _, args := range [][]string{{"--agency-domains", "not a domain"}, {"--public-url", "stats.agency.example"}, {"--public-url", "ftp://x.example"},
		{"--public-url", "https://stats.agency.example/?a=1"}, {"--public-url", "https://user@stats.agency.example"}} {
		if _, err := parseServeConfig(args); err == nil || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("%q: %v; want an error naming %s", args, err, args[0])
		}
	}
}

// --cluster and LOENDUR_CLUSTER: the flag wins; a cluster needs clickhouse:// servers;
// the one-off commands read both too.
func TestClusterConfig(t *testing.T) {
	dsn := "clickhouse://127.0.0.1:19110,127.0.0.1:19112/loendur"
	cfg, err := parseServeConfig([]string{"--db", dsn, "--cluster", "one"})
	if err != nil || cfg.Cluster != "one" || cfg.DB != dsn {
		t.Errorf("flags: %+v, %v", cfg, err)
	}
	t.Setenv("LOENDUR_CLUSTER", "two")
	if cfg, err := parseServeConfig([]string{"--db", dsn}); err != nil || cfg.Cluster != "two" {
		t.Errorf("environment: %q, %v; want two", cfg.Cluster, err)
	}
	if cfg, err := parseServeConfig([]string{"--db", dsn, "--cluster", "one"}); err != nil || cfg.Cluster != "one" {
		t.Errorf("flag and environment: %q, %v; want the flag's one", cfg.Cluster, err)
	}
	if _, err := parseServeConfig([]string{"--db", "chdb://./x"}); err == nil || !strings.Contains(err.Error(), "--cluster needs") {
		t.Errorf("embedded with a cluster: %v; want an error naming --cluster", err)
	}
	fs := flag.NewFlagSet("erase", flag.ContinueOnError)
	target := dbFlag(fs)
	if err := fs.Parse([]string{"--db", dsn}); err != nil || *target != (dbTarget{DSN: dsn, Cluster: "two"}) {
		t.Errorf("one-off command: %+v, %v", *target, err)
	}
}
