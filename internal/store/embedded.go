package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"unsafe"

	"github.com/websystems/loendur/internal/store/literal"
)

// embedded is a Store on chDB, the ClickHouse engine inside this process.
type embedded struct {
	lib  *libchdb
	conn unsafe.Pointer // chdb_connection*: a pointer to a struct holding the engine's handle
	lock *os.File
	info Info
	mu   sync.Mutex // guards conn against Close during a query, and spare
	// spare is the text of the last events insert, kept for the next one: about 5 MB
	// per 10,000 events that would otherwise be garbage after every insert. chDB has
	// parsed it by the time its query returns.
	spare []byte
}

func openEmbedded(dir string, opts Options) (Store, error) {
	if dir == "" {
		return nil, fmt.Errorf("database chdb://: name a folder, e.g. chdb://./data")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("data folder %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return nil, fmt.Errorf("create data folder %s: %w", abs, err)
	}
	lock, err := lockFolder(abs)
	if err != nil {
		return nil, err
	}
	l, err := loadLibchdb(opts.LibPath)
	if err != nil {
		lock.Close()
		return nil, err
	}
	argv, keep := cstrings([]string{"clickhouse", "--path=" + abs})
	conn := l.connect(len(argv), argv)
	_ = keep
	if conn == nil {
		lock.Close()
		return nil, fmt.Errorf("open embedded database in %s: chdb_connect failed (is the folder readable and writable?)", abs)
	}
	s := &embedded{lib: l, conn: conn, lock: lock}
	var rows []struct {
		V string `ch:"v"`
	}
	if err := s.Select(context.Background(), &rows, "SELECT version() AS v"); err != nil || len(rows) == 0 {
		s.Close()
		return nil, fmt.Errorf("embedded database in %s does not answer: %v", abs, err)
	}
	major, minor := parseVersion(rows[0].V)
	s.info = Info{Engine: "embedded", Version: rows[0].V, Major: major, Minor: minor}
	return s, nil
}

// lockFolder takes an exclusive lock so two processes never open one data folder: chDB
// would corrupt it. The lock is released by the kernel when the process ends, even on SIGKILL.
func lockFolder(dir string) (*os.File, error) {
	path := filepath.Join(dir, "loendur.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("lock data folder %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		pid, _ := os.ReadFile(path)
		f.Close()
		return nil, fmt.Errorf("%w: %s is held by pid %s; stop that process first, or point this command at a ClickHouse server with --db clickhouse://HOST:PORT/DATABASE",
			ErrLocked, dir, strings.TrimSpace(string(pid)))
	}
	f.Truncate(0)
	f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return f, nil
}

func (s *embedded) Info() Info { return s.info }

func (s *embedded) query(ctx context.Context, query, format string) ([]byte, error) {
	return s.queryC(ctx, append([]byte(query), 0), format)
}

// queryC is query with the query NUL-terminated already (libchdb.run).
func (s *embedded) queryC(ctx context.Context, query []byte, format string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	conn := s.conn
	s.mu.Unlock()
	if conn == nil {
		return nil, fmt.Errorf("embedded database is closed")
	}
	// chdb_query takes the chdb_connection struct by value: its one pointer field.
	return s.lib.run(*(*unsafe.Pointer)(conn), query, format)
}

func (s *embedded) Exec(ctx context.Context, query string, args ...any) error {
	q, err := bind(query, args)
	if err != nil {
		return err
	}
	_, err = s.query(ctx, q, "TabSeparated")
	return err
}

func (s *embedded) Select(ctx context.Context, dest any, query string, args ...any) error {
	q, err := bind(query, args)
	if err != nil {
		return err
	}
	out, err := s.query(ctx, q, "JSONEachRow")
	if err != nil {
		return err
	}
	return decodeJSONEachRow(out, dest)
}

func (s *embedded) Insert(ctx context.Context, table string, columns []string, rows [][]any) error {
	var b strings.Builder
	b.Grow(64 + len(rows)*len(columns)*16)
	b.Write(s.insertPrefix(ctx, table, columns, "VALUES "))
	for i, row := range rows {
		if len(row) != len(columns) {
			return fmt.Errorf("insert into %s: row %d has %d values for %d columns", table, i, len(row), len(columns))
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for j, v := range row {
			if j > 0 {
				b.WriteByte(',')
			}
			if err := writeValue(&b, v); err != nil {
				return fmt.Errorf("insert into %s, column %s: %w", table, columns[j], err)
			}
		}
		b.WriteByte(')')
	}
	if _, err := s.query(ctx, b.String(), "TabSeparated"); err != nil {
		return fmt.Errorf("insert %d rows into %s: %w", len(rows), table, err)
	}
	return nil
}

// insertEvents sends the batch as TabSeparated data inline in the INSERT, written
// straight from the events: ClickHouse reads TSV on its fastest text path, where
// VALUES goes through the expression parser.
func (s *embedded) insertEvents(ctx context.Context, chunks [][]Event) error {
	n := countEvents(chunks)
	b := append(s.takeSpare(), s.insertPrefix(ctx, "events", insertColumns, "FORMAT TabSeparated\n")...)
	b = slices.Grow(b, n*512)
	defer func() { s.keepSpare(b) }()
	for _, events := range chunks {
		for i := range events {
			for j, c := range eventColumns {
				if j > 0 {
					b = append(b, '\t')
				}
				b = c.tsv(b, &events[i])
			}
			b = append(b, '\n')
		}
	}
	if _, err := s.queryC(ctx, append(b, 0), "TabSeparated"); err != nil {
		return fmt.Errorf("insert %d rows into events: %w", n, err)
	}
	return nil
}

// takeSpare hands out the kept insert buffer, empty; nil when another insert holds it.
func (s *embedded) takeSpare() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.spare
	s.spare = nil
	return b[:0]
}

// keepSpare keeps b for the next insert unless one is kept already or b is larger than a
// batch of the writer (an import's large insert is not held for good).
func (s *embedded) keepSpare(b []byte) {
	const maxSpare = 32 << 20
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.spare == nil && cap(b) <= maxSpare {
		s.spare = b[:0]
	}
}

// insertPrefix is "INSERT INTO table (columns) [SETTINGS ...] " and then the data clause
// ("VALUES " or "FORMAT ...").
func (s *embedded) insertPrefix(ctx context.Context, table string, columns []string, data string) []byte {
	b := []byte("INSERT INTO " + table + " (" + strings.Join(columns, ", ") + ")")
	if settings := s.info.insertSettings(ctx); settings != nil {
		b = append(b, " SETTINGS "...)
		first := true
		for k, v := range settings {
			if !first {
				b = append(b, ", "...)
			}
			first = false
			b = append(b, k+" = "...)
			b = literal.AppendQuote(b, v)
		}
	}
	return append(append(b, ' '), data...)
}

func (s *embedded) Ping(ctx context.Context) error {
	_, err := s.query(ctx, "SELECT 1", "TabSeparated")
	return err
}

func (s *embedded) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		s.lib.closeConn(s.conn)
		s.conn = nil
	}
	if s.lock != nil {
		s.lock.Close()
		s.lock = nil
	}
	return nil
}
