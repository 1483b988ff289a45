package store

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// server is a Store on a ClickHouse server over the native protocol.
type server struct {
	conn driver.Conn
	info Info
	// cluster renders DDL and mutations for the cluster (nil on a single server).
	cluster *clusterStore
}

func openServer(ctx context.Context, dsn, cluster string) (Store, error) {
	opts, database, err := serverOptions(dsn)
	if err != nil {
		return nil, err
	}
	if cluster != "" {
		if !validIdentifier(cluster) {
			return nil, fmt.Errorf("cluster name %q: use letters, digits and _ only", cluster)
		}
		opts.Settings = clusterSettings()
	}
	if err := createDatabase(ctx, opts, database, cluster); err != nil {
		return nil, err
	}
	opts.Auth.Database = database
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("connect to ClickHouse at %s: %w", strings.Join(opts.Addr, ","), err)
	}
	s := &server{conn: conn}
	v, err := conn.ServerVersion()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("ClickHouse at %s does not answer (is it running? check host, port and that it is the native port, usually 9000): %w",
			strings.Join(opts.Addr, ","), err)
	}
	s.info = Info{Engine: "server", Version: fmt.Sprintf("%d.%d.%d", v.Version.Major, v.Version.Minor, v.Version.Patch),
		Major: int(v.Version.Major), Minor: int(v.Version.Minor), Cluster: cluster, Database: database}
	if cluster != "" {
		if s.cluster, err = newClusterStore(ctx, s, opts, cluster, database); err != nil {
			conn.Close()
			return nil, err
		}
	}
	return s, nil
}

// serverOptions turns clickhouse://[user[:password]@]HOST:PORT[,HOST:PORT…]/DATABASE[?compress=lz4|none]
// into driver options.
func serverOptions(dsn string) (*clickhouse.Options, string, error) {
	u, err := url.Parse(dsn)
	if err != nil || u.Host == "" {
		return nil, "", fmt.Errorf("database %q: want clickhouse://HOST:PORT/DATABASE", redactDSN(dsn))
	}
	var hosts []string
	for _, h := range strings.Split(u.Host, ",") {
		if h == "" {
			return nil, "", fmt.Errorf("database %q: an empty host in the list", redactDSN(dsn))
		}
		if _, _, err := net.SplitHostPort(h); err != nil {
			h = net.JoinHostPort(strings.Trim(h, "[]"), "9000")
		}
		hosts = append(hosts, h)
	}
	database := strings.Trim(u.Path, "/")
	if database == "" {
		database = "default"
	}
	if !validIdentifier(database) {
		return nil, "", fmt.Errorf("database name %q: use letters, digits and _ only", database)
	}
	compression, err := blockCompression(u.Query().Get("compress"), hosts)
	if err != nil {
		return nil, "", fmt.Errorf("database %q: %w", redactDSN(dsn), err)
	}
	opts := &clickhouse.Options{
		Addr:             hosts,
		DialTimeout:      5 * time.Second,
		ReadTimeout:      5 * time.Minute,
		MaxOpenConns:     16,
		MaxIdleConns:     8,
		ConnMaxLifetime:  time.Hour,
		Compression:      compression,
		ConnOpenStrategy: clickhouse.ConnOpenInOrder,
	}
	if u.User != nil {
		opts.Auth.Username = u.User.Username()
		opts.Auth.Password, _ = u.User.Password()
	}
	return opts, database, nil
}

// blockCompression is the native protocol's compression of the blocks sent: LZ4 unless
// ?compress=none, or every host is this machine's loopback, where compressing only
// spends CPU at both ends and holds a compressed copy of each batch in memory (about
// 40 MB less peak at 20,000 events per insert, BENCHMARKS.md).
func blockCompression(param string, hosts []string) (*clickhouse.Compression, error) {
	switch param {
	case "lz4":
		return &clickhouse.Compression{Method: clickhouse.CompressionLZ4}, nil
	case "none":
		return nil, nil
	case "":
		if slices.IndexFunc(hosts, func(h string) bool { return !isLoopback(h) }) < 0 {
			return nil, nil
		}
		return &clickhouse.Compression{Method: clickhouse.CompressionLZ4}, nil
	}
	return nil, fmt.Errorf("compress=%q: use lz4 or none", param)
}

func isLoopback(hostPort string) bool {
	host, _, _ := net.SplitHostPort(hostPort)
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func validIdentifier(s string) bool {
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

func createDatabase(ctx context.Context, opts *clickhouse.Options, database, cluster string) error {
	bootstrap := *opts
	bootstrap.Auth.Database = "default"
	conn, err := clickhouse.Open(&bootstrap)
	if err != nil {
		return fmt.Errorf("connect to ClickHouse at %s: %w", strings.Join(opts.Addr, ","), err)
	}
	defer conn.Close()
	create := "CREATE DATABASE IF NOT EXISTS " + database
	if cluster != "" {
		create += " ON CLUSTER " + cluster
	}
	if err := conn.Exec(ctx, create); err != nil {
		return fmt.Errorf("ClickHouse at %s: create database %s (is the server running and is %s its native port?): %w",
			strings.Join(opts.Addr, ","), database, strings.Join(opts.Addr, ","), err)
	}
	return nil
}

func (s *server) Info() Info { return s.info }

func (s *server) Exec(ctx context.Context, query string, args ...any) error {
	if s.cluster != nil {
		return s.cluster.exec(ctx, query, args...)
	}
	return s.conn.Exec(ctx, query, args...)
}

func (s *server) Select(ctx context.Context, dest any, query string, args ...any) error {
	return s.conn.Select(ctx, dest, query, args...)
}

func (s *server) Insert(ctx context.Context, table string, columns []string, rows [][]any) error {
	batch, err := s.prepareInsert(ctx, table, columns)
	if err != nil {
		return err
	}
	defer batch.Abort()
	for _, row := range rows {
		if err := batch.Append(row...); err != nil {
			return fmt.Errorf("append row to %s: %w", table, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert %d rows into %s: %w", len(rows), table, err)
	}
	return nil
}

// insertEvents sends a batch column by column: one append per column and chunk, not per
// value. Each chunk goes as a block of its own within the one INSERT (the server squashes
// them into one part): a block sent is reset with its capacity kept, so the next chunk's
// columns fill the same buffers instead of growing new ones from empty.
func (s *server) insertEvents(ctx context.Context, chunks [][]Event) error {
	batch, err := s.prepareInsert(ctx, "events", insertColumns)
	if err != nil {
		return err
	}
	defer batch.Abort()
	for n, events := range chunks {
		if err := appendEventColumns(batch, events); err != nil {
			return err
		}
		if n < len(chunks)-1 {
			if err := batch.Flush(); err != nil {
				return fmt.Errorf("send block %d of %d to events: %w", n+1, len(chunks), err)
			}
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert %d rows into events: %w", countEvents(chunks), err)
	}
	return nil
}

func appendEventColumns(batch driver.Batch, events []Event) error {
	for i, c := range eventColumns {
		var err error
		if c.rows != nil {
			err = appendArrayRows(batch.Column(i), events, c.rows)
		} else {
			err = batch.Column(i).Append(c.values(events))
		}
		if err != nil {
			return fmt.Errorf("append column %s to events: %w", c.name, err)
		}
	}
	return nil
}

// appendArrayRows appends an Array(String) column row by row, each as the address of the
// event's slice. Given a [][]string, clickhouse-go boxes every row into an interface on
// its way through reflection: an allocation per row and array column. A pointer fits an
// interface without one, and a nil slice is stored as [], as before.
func appendArrayRows(col driver.BatchColumn, events []Event, addr func(*Event) *[]string) error {
	for i := range events {
		if err := col.AppendRow(addr(&events[i])); err != nil {
			return err
		}
	}
	return nil
}

func (s *server) prepareInsert(ctx context.Context, table string, columns []string) (driver.Batch, error) {
	if settings := s.info.insertSettings(ctx); settings != nil {
		chSettings := clickhouse.Settings{}
		for k, v := range settings {
			chSettings[k] = v
		}
		ctx = clickhouse.Context(ctx, clickhouse.WithSettings(chSettings))
	}
	batch, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+table+" ("+strings.Join(columns, ", ")+")")
	if err != nil {
		return nil, fmt.Errorf("prepare insert into %s: %w", table, err)
	}
	return batch, nil
}

func (s *server) Ping(ctx context.Context) error { return s.conn.Ping(ctx) }

func (s *server) Close() error {
	if s.cluster != nil {
		s.cluster.close()
	}
	return s.conn.Close()
}
