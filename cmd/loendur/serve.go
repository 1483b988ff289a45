package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/websystems/loendur/collector"
	"github.com/websystems/loendur/dashboard"
	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/dashboard/notify"
	"github.com/websystems/loendur/dashboard/reports"
	"github.com/websystems/loendur/internal/clientip"
	"github.com/websystems/loendur/internal/derived"
	"github.com/websystems/loendur/internal/erasure"
	"github.com/websystems/loendur/internal/exclusion"
	"github.com/websystems/loendur/internal/geo"
	"github.com/websystems/loendur/internal/privacy"
	"github.com/websystems/loendur/internal/referrer"
	"github.com/websystems/loendur/internal/retention"
	"github.com/websystems/loendur/internal/salt"
	"github.com/websystems/loendur/internal/sites"
	"github.com/websystems/loendur/internal/spool"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/useragent"
)

func runServe(args []string) error {
	cfg, err := parseServeConfig(args)
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogFormat)
	tuneGC(cfg.DB)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	// Fail fast on what the user can fix before touching the database.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another process using the port? choose one with --addr)", cfg.Addr, err)
	}
	defer ln.Close()
	var metricsLn net.Listener
	if cfg.MetricsAddr != "" {
		if metricsLn, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			return fmt.Errorf("listen on %s: %w (choose another with --metrics-addr)", cfg.MetricsAddr, err)
		}
		defer metricsLn.Close()
	}
	geoDB, err := openGeo(cfg.GeoIP, log)
	if err != nil {
		return err
	}
	spam, err := openReferrerSpam(cfg.ReferrerSpam, log)
	if err != nil {
		return err
	}
	defer geoDB.Close()
	proxies, err := clientip.NewResolver(cfg.TrustedProxy)
	if err != nil {
		return fmt.Errorf("--trusted-proxy: %w", err)
	}
	truncator, _ := privacy.NewTruncator(cfg.IPv4Prefix, cfg.IPv6Prefix)

	db, err := openStore(ctx, dbTarget{DSN: cfg.DB, Cluster: cfg.Cluster}, log)
	if err != nil {
		return err
	}
	defer db.Close()
	registry, keeper, err := startRegistries(ctx, db, cfg.Sites, log)
	if err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), keeper.Deleted)
	sp, err := spool.Open(spool.Options{Dir: cfg.spoolDir(), MaxBytes: cfg.SpoolMax, Log: log, Registry: reg})
	if err != nil {
		return fmt.Errorf("--spool %s: %w", cfg.spoolDir(), err)
	}
	defer sp.Close()
	if n, size := sp.Stats(); n > 0 {
		log.Info("replaying spooled batches", "batches", n, "bytes", size)
	}
	exclusions := exclusion.NewSet(db, log)
	if err := exclusions.Load(ctx); err != nil {
		return err
	}
	go exclusions.Run(ctx)
	if v, err := useragent.PatternListVersion(); err != nil {
		log.Warn("bot detection runs without its second crawler list", "err", err)
	} else {
		log.Info("crawler lists loaded", "second", v)
	}
	notifier, err := newNotifier(cfg, db, registry, log)
	if err != nil {
		return err
	}
	svc, err := newServices(cfg, serveDeps{db: db, sites: registry, salts: keeper, geo: geoDB, proxies: proxies,
		truncator: truncator, spool: sp, registry: reg, log: log, noMetrics: metricsLn != nil, exclusions: exclusions,
		referrerSpam: spam, notify: notifier})
	if err != nil {
		return err
	}
	svc.col.Start(ctx)
	finalizer, err := derived.NewFinalizer(derived.FinalizerOptions{DB: db, Sites: registry, Log: log, Registry: reg})
	if err != nil {
		return fmt.Errorf("finalizer: %w", err)
	}
	go finalizer.Run(ctx)
	go retention.New(db, log, reg, time.Now).Run(ctx)
	go svc.dash.Run(ctx)
	go notifier.Run(ctx)
	go svc.erasures.Follow(ctx, ledgerFollowInterval)

	serveErr := make(chan error, 1)
	go func() { serveErr <- svc.app.Listener(ln) }()
	if metricsLn != nil {
		metricsSrv := serveMetrics(metricsLn, reg, serveErr)
		defer metricsSrv.Close()
		log.Info("metrics served", "addr", metricsLn.Addr().String())
	}
	log.Info("loendur serving", "addr", ln.Addr().String(), "engine", db.Info().Engine, "version", db.Info().Version,
		"sites", len(registry.Domains()))
	if cfg.Demo {
		if err := printDemo(ctx, db, ln.Addr().String(), registry.Domains()); err != nil {
			return err
		}
	}

	select {
	case err := <-serveErr:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: flushing queued events", "timeout", cfg.ShutdownWait)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownWait)
	defer cancel()
	// Stop taking requests first: the collector then closes its queue.
	if err := svc.app.ShutdownWithContext(sctx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	if err := svc.col.Shutdown(sctx); err != nil {
		return err
	}
	log.Info("stopped cleanly")
	return nil
}

// serveDeps are what the collector and the dashboard share, opened by runServe.
type serveDeps struct {
	db        store.Store
	sites     *sites.Registry
	salts     *salt.Keeper
	geo       *geo.Reader
	proxies   *clientip.Resolver
	truncator privacy.Truncator
	spool     *spool.Spool
	registry  *prometheus.Registry
	log       *slog.Logger
	noMetrics bool // /metrics is on --metrics-addr, not on the collector's app
	// exclusions are the sites' excluded addresses and user agents: the collector applies
	// them, the dashboard edits them.
	exclusions *exclusion.Set
	// referrerSpam is --referrer-spam, read at start; nil: none.
	referrerSpam *referrer.SpamList
	notify       *notify.Service
}

// newNotifier is the scheduler of e-mail reports and alerts (and the keeper of their
// settings), with the SMTP server of --smtp when one is given.
func newNotifier(cfg serveConfig, db store.Store, registry *sites.Registry, log *slog.Logger) (*notify.Service, error) {
	mail, err := cfg.Mail.mailer()
	if err != nil {
		return nil, err
	}
	rep, err := reports.New(reports.Deps{DB: db, Sites: registry, Log: log})
	if err != nil {
		return nil, err
	}
	opts := notify.Options{DB: db, Sites: registry, Reports: rep, PublicURL: cfg.publicURL(), Log: log}
	if mail != nil {
		opts.Mail = mail
		log.Info("e-mail reports and alerts", "smtp", mail.String(), "from", mail.From(), "links", cfg.publicURL())
	} else {
		log.Info("no SMTP server (--smtp): e-mail reports and alert mails wait until one is configured; webhooks are sent")
	}
	return notify.New(opts)
}

// serveMetrics answers GET /metrics on ln, an address of its own (--metrics-addr), so
// that the public address need not expose the process's metrics; a failure to serve
// goes to errs.
func serveMetrics(ln net.Listener, reg *prometheus.Registry, errs chan<- error) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			select {
			case errs <- fmt.Errorf("metrics: %w", err):
			default: // the process is stopping already
			}
		}
	}()
	return srv
}

// services are what runServe serves: the app, and the collector and dashboard whose
// routes are registered on it.
type services struct {
	app      *fiber.App
	col      *collector.Collector
	dash     *dashboard.Dashboard
	erasures *erasure.Service
}

// ledgerFollowInterval is how often a collector reads the erasure ledger for erasures
// other processes recorded (erasure.Service.Follow): what an erasure elsewhere leaves
// in this collector's queue or spool is gone within about this, plus a flush.
const ledgerFollowInterval = 5 * time.Second

// newServices builds the collector and the dashboard and registers their routes, the
// tracker's and the operators' on one app. A route that cannot be registered is a
// start-up error.
func newServices(cfg serveConfig, d serveDeps) (*services, error) {
	// One erasure service for /api/forget and the Data requests, so their erasures run
	// one at a time; it waits for the collector's queue (col, set before anything is
	// served) and erases from its spool.
	var col *collector.Collector
	erasures := erasure.NewService(erasure.ServiceOptions{DB: d.db, Spool: d.spool, Log: d.log,
		Queue: erasure.QueueFunc(func(ctx context.Context) error { return col.WaitQueued(ctx) })})
	col, err := collector.New(collector.Options{
		DB: d.db, Sites: d.sites, Salts: d.salts, Geo: d.geo, Proxies: d.proxies, Truncator: d.truncator,
		Registry: d.registry, Log: d.log, QueueSize: cfg.QueueSize, BatchSize: cfg.BatchSize,
		FlushInterval: cfg.FlushInterval, RateLimit: cfg.RateLimit, SessionSync: cfg.SessionSync, Spool: d.spool,
		AcceptLog: cfg.acceptLogDir(), AcceptLogSync: cfg.AcceptLogSync, Erasure: erasures, Exclusions: d.exclusions,
		ReferrerSpam: d.referrerSpam,
	})
	if err != nil {
		return nil, err
	}
	// The notice flags were checked by validate; the prefixes are the collector's.
	noticeOpts, _ := cfg.Notice.options()
	noticeOpts.Prefixes = &d.truncator
	dash, err := dashboard.New(dashboard.Options{DB: d.db, Sites: d.sites, Log: d.log, Registry: d.registry,
		Secure: cfg.SecureCookies, Truncator: d.truncator, Erasure: erasures, Exclusions: d.exclusions,
		Notify: d.notify, Notice: noticeOpts, SampleAbove: sampleAbove(cfg.SampleAbove),
		Salt:      d.salts.For,
		PublicURL: cfg.Mail.PublicURL, GeoIP: d.geo != nil,
		ClientIP: func(c *fiber.Ctx) netip.Addr {
			remote, _ := netip.ParseAddr(c.IP())
			return d.proxies.ClientIP(remote, c.Get(fiber.HeaderXForwardedFor))
		},
	})
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	app := newApp(col)
	if err := registerRoutes(app, col, dash, d.db, d.sites, metricsOnApp(d)); err != nil {
		return nil, err
	}
	return &services{app: app, col: col, dash: dash, erasures: erasures}, nil
}

func newLogger(format string) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, nil))
}

func openGeo(path string, log *slog.Logger) (*geo.Reader, error) {
	if path == "" {
		log.Info("no GeoIP database (--geoip): country, region and city stay empty")
		return nil, nil
	}
	r, err := geo.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--geoip: %w", err)
	}
	log.Info("GeoIP database loaded", "database", r.Describe())
	if a := r.Attribution(); a != "" {
		log.Info("GeoIP attribution required", "text", a)
	}
	return r, nil
}

// The Go garbage collector's GOGC per engine, unless the GOGC variable says otherwise
// (BENCHMARKS.md, issue 18; the process must stay under 256 MB of anonymous memory at
// the default batch size):
//
//   - With a ClickHouse server the process holds only Go memory (about 65 MB live under
//     make bench's load), so the heap may grow to three times that: collecting half as
//     often took 12–16 % less CPU per event, for a peak of 186–220 MB instead of 135.
//   - chDB keeps its own memory inside the process (100 MB and more under load, beside
//     its mapped code), so the Go heap gets less room above what it holds live; it
//     costs a few more collections.
const (
	serverGOGC   = 200
	embeddedGOGC = 50
)

func tuneGC(dsn string) {
	if os.Getenv("GOGC") != "" {
		return
	}
	if strings.HasPrefix(dsn, "chdb://") {
		debug.SetGCPercent(embeddedGOGC)
	} else {
		debug.SetGCPercent(serverGOGC)
	}
}

func openStore(ctx context.Context, t dbTarget, log *slog.Logger) (store.Store, error) {
	octx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	db, err := store.Open(octx, t.DSN, store.Options{Cluster: t.Cluster})
	if err != nil {
		return nil, err
	}
	// No deadline: an upgrade fills new derived tables from the events and visits
	// already stored, minutes on a large database; a migration cut short would leave
	// a table half filled.
	start := time.Now()
	applied, err := store.Migrate(ctx, db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate database: %w", err)
	}
	if len(applied) > 0 {
		log.Info("schema migrated", "applied", applied, "took", time.Since(start).Round(time.Millisecond))
	}
	return db, nil
}

func startRegistries(ctx context.Context, db store.Store, domains []string, log *slog.Logger) (*sites.Registry, *salt.Keeper, error) {
	registry := sites.NewRegistry(db, log)
	added, err := registry.Ensure(ctx, domains)
	if err != nil {
		return nil, nil, err
	}
	if len(added) > 0 {
		log.Info("sites registered", "sites", added)
	}
	if len(registry.Domains()) == 0 {
		log.Warn("no sites registered: every event will be refused; add one with --site example.com")
	}
	keeper := salt.New(db, log, time.Now)
	if err := keeper.Refresh(ctx); err != nil {
		return nil, nil, fmt.Errorf("salts: %w", err)
	}
	go registry.Run(ctx)
	go keeper.Run(ctx)
	return registry, keeper, nil
}

// demoAdmin is the account `make run` creates when a database has no admin yet.
const demoAdmin = "admin@localhost"

func printDemo(ctx context.Context, db store.Store, addr string, domains []string) error {
	password, created, err := auth.EnsureAdmin(ctx, db, demoAdmin)
	if err != nil {
		return fmt.Errorf("create the first admin: %w", err)
	}
	if created {
		fmt.Fprintf(os.Stderr, "\nDashboard: http://%s/login  as %s  password %s  (shown once)\n", addr, demoAdmin, password)
	} else {
		fmt.Fprintf(os.Stderr, "\nDashboard: http://%s/login (an admin account exists already)\n", addr)
	}
	if len(domains) == 0 {
		return nil
	}
	d := domains[0]
	fmt.Fprintf(os.Stderr, `
Store a page view with
  curl -i -X POST http://%[1]s/api/event -H 'Content-Type: text/plain' -H 'User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0' \
    -d '{"site":"%[2]s","name":"pageview","url":"https://%[2]s/hello?utm_source=demo","referrer":"https://www.google.com/"}'
Embed the tracker with
  <script defer src="http://%[1]s/js/script.js" data-site="%[2]s"></script>

`, addr, d)
	return nil
}

// openReferrerSpam reads --referrer-spam; an empty path means no list.
func openReferrerSpam(path string, log *slog.Logger) (*referrer.SpamList, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--referrer-spam: %w", err)
	}
	defer f.Close()
	l, err := referrer.ParseSpamList(f)
	if err != nil {
		return nil, fmt.Errorf("--referrer-spam %s: %w", path, err)
	}
	log.Info("referrer spam list loaded", "hosts", l.Len())
	return l, nil
}

// sampleAbove is --sample-above as reports.Deps takes it (there 0 is the default and
// a negative number never samples).
func sampleAbove(visits int) int {
	if visits == 0 {
		return -1
	}
	return visits
}
