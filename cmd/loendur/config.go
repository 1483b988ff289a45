package main

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/websystems/loendur/collector"
	"github.com/websystems/loendur/dashboard/reports"
	"github.com/websystems/loendur/internal/acceptlog"
	"github.com/websystems/loendur/internal/mailer"
	"github.com/websystems/loendur/internal/privacy"
	"github.com/websystems/loendur/internal/spool"
)

// Defaults of `loendur serve`.
const (
	defaultAddr = "127.0.0.1:8080"
	defaultDB   = "chdb://./data"
	envPrefix   = "LOENDUR_"
)

const clusterUsage = "a cluster of the servers' remote_servers: migrations run ON CLUSTER, event tables sharded and replicated, shared tables replicated (README, \"Scaling out\")"

// serveConfig is everything `loendur serve` reads from flags and LOENDUR_* variables.
type serveConfig struct {
	Addr          string
	MetricsAddr   string
	DB            string
	Cluster       string
	Sites         []string
	GeoIP         string
	ReferrerSpam  string
	TrustedProxy  []string
	IPv4Prefix    int
	IPv6Prefix    int
	QueueSize     int
	BatchSize     int
	FlushInterval time.Duration
	SampleAbove   int
	RateLimit     float64
	SessionSync   time.Duration
	ShutdownWait  time.Duration
	LogFormat     string
	SecureCookies bool
	Spool         string
	AcceptLog     string
	AcceptLogSync time.Duration
	SpoolMax      int64
	Demo          bool
	Mail          mailConfig
	Notice        noticeFlags
}

// mailConfig is where e-mail goes out (serve's reports and alerts, `report send`).
type mailConfig struct {
	SMTP      string // smtp://[USER:PASSWORD@]HOST:PORT; "" = no mail
	From      string
	PublicURL string // the base of links in mails (unsubscribe, the report)
}

// addMailFlags defines --smtp, --mail-from and --public-url with their LOENDUR_*
// variables (noted in env for applyEnv).
func addMailFlags(fs *flag.FlagSet, env map[string]string, c *mailConfig, defaultPublicURL string) {
	fs.StringVar(&c.SMTP, "smtp", "", "SMTP server for e-mail reports and alerts: smtp://[USER:PASSWORD@]HOST:PORT (STARTTLS when offered) or smtps://… ($"+envPrefix+"SMTP)")
	env["smtp"] = "SMTP"
	fs.StringVar(&c.From, "mail-from", "", "sender address of e-mail reports and alerts ($"+envPrefix+"MAIL_FROM)")
	env["mail-from"] = "MAIL_FROM"
	addPublicURLFlag(fs, env, &c.PublicURL, defaultPublicURL)
}

// addPublicURLFlag defines --public-url: how people reach this server, for the links in
// mails and the privacy notice's snippets.
func addPublicURLFlag(fs *flag.FlagSet, env map[string]string, p *string, def string) {
	fs.StringVar(p, "public-url", def, "how people reach this server, e.g. https://stats.agency.example, for links in mails and the privacy notice's snippets ($"+envPrefix+"PUBLIC_URL)")
	env["public-url"] = "PUBLIC_URL"
}

// mailer is the configured SMTP server, or nil without --smtp. Its errors never hold
// the SMTP password.
func (c mailConfig) mailer() (*mailer.Mailer, error) {
	if c.SMTP == "" {
		if c.From != "" {
			return nil, errors.New("--mail-from needs --smtp")
		}
		return nil, nil
	}
	if c.From == "" {
		return nil, errors.New("--smtp needs --mail-from, the sender address (e.g. loendur@agency.example)")
	}
	cfg, err := mailer.Parse(c.SMTP, c.From)
	if err != nil {
		return nil, err
	}
	return mailer.New(cfg), nil
}

func (c mailConfig) validate() error {
	if err := checkPublicURL(c.PublicURL); err != nil {
		return err
	}
	_, err := c.mailer()
	return err
}

// checkPublicURL refuses a --public-url that is not an address people could reach this
// server at; "" (unset) is fine.
func checkPublicURL(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("--public-url %q must be http(s)://HOST[:PORT][/PATH], as people reach this server (e.g. https://stats.agency.example)", raw)
	}
	return nil
}

// listFlag is a repeatable flag whose values may also be comma-separated.
type listFlag struct{ values *[]string }

func (l listFlag) String() string {
	if l.values == nil {
		return ""
	}
	return strings.Join(*l.values, ",")
}

func (l listFlag) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l.values = append(*l.values, v)
		}
	}
	return nil
}

// parseServeConfig reads flags, falling back to environment variables (the flag wins),
// and reports every bad value together.
func parseServeConfig(args []string) (serveConfig, error) {
	cfg := serveConfig{}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	// env maps a flag to its environment variable; listed once here for -help and lookup.
	env := map[string]string{}
	str := func(p *string, name, envName, def, usage string) {
		fs.StringVar(p, name, def, usage+" ($"+envPrefix+envName+")")
		env[name] = envName
	}
	str(&cfg.Addr, "addr", "ADDR", defaultAddr, "listen address")
	str(&cfg.MetricsAddr, "metrics-addr", "METRICS_ADDR", "", "serve /metrics only on this address (e.g. 127.0.0.1:9090) instead of on --addr")
	str(&cfg.DB, "db", "DB", defaultDB, "database: chdb://PATH (embedded) or clickhouse://[USER:PASSWORD@]HOST:PORT[,HOST:PORT…]/DATABASE (servers, native port)")
	str(&cfg.Cluster, "cluster", "CLUSTER", "", clusterUsage)
	fs.Var(listFlag{&cfg.Sites}, "site", "site domain to register at start; repeatable or comma-separated ($"+envPrefix+"SITES)")
	env["site"] = "SITES"
	str(&cfg.GeoIP, "geoip", "GEOIP", "", "path of a MaxMind-format City or Country database (GeoLite2, DB-IP); empty: no geo")
	str(&cfg.ReferrerSpam, "referrer-spam", "REFERRER_SPAM", "", "path of a referrer-spam host list (Matomo's spammers.txt format); page views from those referrers are dropped")
	fs.Var(listFlag{&cfg.TrustedProxy}, "trusted-proxy", "CIDR whose X-Forwarded-For is believed; repeatable or comma-separated ($"+envPrefix+"TRUSTED_PROXIES)")
	env["trusted-proxy"] = "TRUSTED_PROXIES"
	intf := func(p *int, name, envName string, def int, usage string) {
		fs.IntVar(p, name, def, usage+" ($"+envPrefix+envName+")")
		env[name] = envName
	}
	intf(&cfg.IPv4Prefix, "ipv4-prefix", "IPV4_PREFIX", privacy.DefaultV4Bits, "bits of an IPv4 address kept; at most 16")
	intf(&cfg.IPv6Prefix, "ipv6-prefix", "IPV6_PREFIX", privacy.DefaultV6Bits, "bits of an IPv6 address kept; at most 48")
	intf(&cfg.QueueSize, "queue-size", "QUEUE_SIZE", collector.DefaultQueueSize, "events held in memory before the beacon answers 503")
	intf(&cfg.BatchSize, "batch-size", "BATCH_SIZE", 0, "events per insert at most (0: 20,000 on a ClickHouse server, 10,000 embedded)")
	intf(&cfg.SampleAbove, "sample-above", "SAMPLE_ABOVE", reports.DefaultSampleAbove,
		"visits a report's period may have before it is estimated from one visitor in 32 or fewer (faster; ?sample=off counts all); 0: never")
	dur := func(p *time.Duration, name, envName string, def time.Duration, usage string) {
		fs.DurationVar(p, name, def, usage+" ($"+envPrefix+envName+")")
		env[name] = envName
	}
	dur(&cfg.FlushInterval, "flush-interval", "FLUSH_INTERVAL", collector.DefaultFlushInterval, "longest wait before queued events are inserted")
	dur(&cfg.SessionSync, "session-sync", "SESSION_SYNC", 0, "with several collectors and no client-address affinity: how often to learn sessions from the database (e.g. 2s); 0 = off")
	dur(&cfg.ShutdownWait, "shutdown-timeout", "SHUTDOWN_TIMEOUT", 30*time.Second, "how long SIGTERM waits for queued events to be stored")
	fs.Float64Var(&cfg.RateLimit, "rate-limit", collector.DefaultRateLimit, "events per second per client address (burst twice that); -1 = off ($"+envPrefix+"RATE_LIMIT)")
	env["rate-limit"] = "RATE_LIMIT"
	str(&cfg.LogFormat, "log-format", "LOG_FORMAT", "text", "text or json")
	str(&cfg.Spool, "spool", "SPOOL", "", "folder for batches ClickHouse could not take, replayed when it answers (default: ./spool, beside a chdb:// data folder)")
	str(&cfg.AcceptLog, "accept-log", "ACCEPT_LOG", "", "folder where each event is written before its 202, so that a killed collector loses nothing it accepted (default: accept/ in the spool folder); off = none")
	dur(&cfg.AcceptLogSync, "accept-log-sync", "ACCEPT_LOG_SYNC", acceptlog.DefaultSyncInterval, "longest an accepted event waits for the accept log's fsync: what a power cut can cost; 0 = fsync only when a batch is delivered (about --flush-interval)")
	fs.Int64Var(&cfg.SpoolMax, "spool-max", 1<<30, "bytes the spool may use; when full the beacon answers 503 ($"+envPrefix+"SPOOL_MAX)")
	env["spool-max"] = "SPOOL_MAX"
	fs.BoolVar(&cfg.SecureCookies, "secure-cookies", false, "mark dashboard cookies Secure: set when loendur is reached over HTTPS ($"+envPrefix+"SECURE_COOKIES)")
	env["secure-cookies"] = "SECURE_COOKIES"
	addMailFlags(fs, env, &cfg.Mail, "")
	addNoticeFlags(fs, env, &cfg.Notice)
	fs.BoolVar(&cfg.Demo, "demo", false, "create an admin account if none exists and print its login, and a demo curl command")

	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q (flags only; see loendur serve -help)", fs.Arg(0))
	}
	if err := applyEnv(fs, env); err != nil {
		return cfg, err
	}
	return cfg, cfg.validate()
}

// applyEnv sets each flag not given on the command line from its environment variable.
func applyEnv(fs *flag.FlagSet, env map[string]string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	for name, envName := range env {
		v, ok := os.LookupEnv(envPrefix + envName)
		if !ok || given[name] {
			continue
		}
		if err := fs.Set(name, v); err != nil {
			errs = append(errs, fmt.Errorf("%s%s=%q: %w", envPrefix, envName, v, err))
		}
	}
	return errors.Join(errs...)
}

func (c serveConfig) validate() error {
	var errs []error
	if !strings.HasPrefix(c.DB, "chdb://") && !strings.HasPrefix(c.DB, "clickhouse://") {
		errs = append(errs, errors.New("--db must be chdb://PATH or clickhouse://HOST:PORT/DATABASE"))
	}
	if c.Cluster != "" && !strings.HasPrefix(c.DB, "clickhouse://") {
		errs = append(errs, errors.New("--cluster needs --db clickhouse://HOST:PORT[,HOST:PORT…]/DATABASE (a cluster's servers)"))
	}
	if c.QueueSize < 1 {
		errs = append(errs, errors.New("--queue-size must be positive"))
	}
	if c.BatchSize < 0 {
		errs = append(errs, errors.New("--batch-size must be positive (or 0 for the engine's default)"))
	}
	if c.FlushInterval <= 0 {
		errs = append(errs, errors.New("--flush-interval must be positive, e.g. 1s"))
	}
	if c.SampleAbove < 0 {
		errs = append(errs, errors.New("--sample-above must be a number of visits, or 0 to never sample"))
	}
	if c.AcceptLogSync < 0 {
		errs = append(errs, errors.New("--accept-log-sync must be 0 (fsync only when a batch is delivered) or positive, e.g. 100ms"))
	}
	if c.SpoolMax < spool.MinSegmentBytes {
		errs = append(errs, fmt.Errorf("--spool-max must be at least %d bytes", spool.MinSegmentBytes))
	}

	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, errors.New("--log-format must be text or json"))
	}
	if _, err := privacy.NewTruncator(c.IPv4Prefix, c.IPv6Prefix); err != nil {
		errs = append(errs, err)
	}
	if err := c.Mail.validate(); err != nil {
		errs = append(errs, err)
	}
	if _, err := c.Notice.options(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// publicURL is --public-url, or the listen address when unset.
func (c serveConfig) publicURL() string {
	if c.Mail.PublicURL != "" {
		return c.Mail.PublicURL
	}
	return "http://" + c.Addr
}

// acceptLogDir is --accept-log, or accept/ in the spool folder; "" when off.
func (c serveConfig) acceptLogDir() string {
	switch c.AcceptLog {
	case "off":
		return ""
	case "":
		return filepath.Join(c.spoolDir(), "accept")
	}
	return c.AcceptLog
}

// spoolDir is --spool, or the default: beside the embedded data folder, else ./spool.
func (c serveConfig) spoolDir() string {
	if c.Spool != "" {
		return c.Spool
	}
	if path, ok := strings.CutPrefix(c.DB, "chdb://"); ok && path != "" {
		return filepath.Join(filepath.Dir(filepath.Clean(path)), filepath.Base(filepath.Clean(path))+"-spool")
	}
	return "spool"
}
