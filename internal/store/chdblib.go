package store

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// libchdb is loaded on first use, not at program start: the chdb-go binding dlopens in
// init() and panics when the library is missing, which would make a binary that only
// talks to a ClickHouse server depend on a 570 MB library. So loendur binds the few C
// functions of chdb.h it needs itself, with purego, when a chdb:// database is opened.
type libchdb struct {
	connect       func(argc int, argv []*byte) unsafe.Pointer
	closeConn     func(conn unsafe.Pointer)
	query         func(conn unsafe.Pointer, query *byte, format string) unsafe.Pointer // query: NUL-terminated
	destroyResult func(res unsafe.Pointer)
	resultBuffer  func(res unsafe.Pointer) unsafe.Pointer
	resultLength  func(res unsafe.Pointer) uint
	resultError   func(res unsafe.Pointer) string
}

var (
	libOnce sync.Once
	lib     *libchdb
	libErr  error
)

// defaultLibPaths are tried, in order, when neither Options.LibPath nor CHDB_LIB_PATH is set.
var defaultLibPaths = []string{"/usr/local/lib/libchdb.so", "/usr/lib/libchdb.so"}

func loadLibchdb(path string) (*libchdb, error) {
	libOnce.Do(func() { lib, libErr = dlopenChdb(findLibchdb(path)) })
	return lib, libErr
}

func findLibchdb(path string) string {
	if path != "" {
		return path
	}
	if env := os.Getenv("CHDB_LIB_PATH"); env != "" {
		return env
	}
	home, _ := os.UserHomeDir()
	candidates := append([]string{home + "/.cache/loendur/chdb-" + ChdbVersion + "/libchdb.so"}, defaultLibPaths...)
	for _, p := range candidates {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// ChdbVersion is the libchdb release loendur is tested with (npm @chdb/lib-linux-x64-gnu).
const ChdbVersion = "26.7.3-stable.1"

var errNoLibchdb = errors.New("libchdb.so not found: run `make run` (it fetches it into ~/.cache/loendur) or set CHDB_LIB_PATH, or use a server with --db clickhouse://HOST:PORT/DATABASE")

func dlopenChdb(path string) (*libchdb, error) {
	if path == "" {
		return nil, errNoLibchdb
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("libchdb at %s: %w; %w", path, err, errNoLibchdb)
	}
	handle, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return nil, fmt.Errorf("load libchdb from %s: %w", path, err)
	}
	l := &libchdb{}
	for _, f := range []struct {
		ptr  any
		name string
	}{
		{&l.connect, "chdb_connect"}, {&l.closeConn, "chdb_close_conn"}, {&l.query, "chdb_query"},
		{&l.destroyResult, "chdb_destroy_query_result"}, {&l.resultBuffer, "chdb_result_buffer"},
		{&l.resultLength, "chdb_result_length"}, {&l.resultError, "chdb_result_error"},
	} {
		sym, err := purego.Dlsym(handle, f.name)
		if err != nil {
			return nil, fmt.Errorf("libchdb at %s lacks %s (too old? loendur needs %s): %w", path, f.name, ChdbVersion, err)
		}
		purego.RegisterFunc(f.ptr, sym)
	}
	return l, nil
}

// cstrings turns args into NUL-terminated byte slices; the returned slice keeps them alive.
func cstrings(args []string) ([]*byte, [][]byte) {
	ptrs := make([]*byte, len(args))
	keep := make([][]byte, len(args))
	for i, a := range args {
		keep[i] = append([]byte(a), 0)
		ptrs[i] = &keep[i][0]
	}
	return ptrs, keep
}

// run executes one query, NUL-terminated as C takes it, and returns its output in the
// given format. A batch of events is written straight into such a buffer
// (embedded.insertEvents): passed as a Go string, purego would copy it once more for the
// call, some megabytes per insert.
func (l *libchdb) run(conn unsafe.Pointer, query []byte, format string) ([]byte, error) {
	if len(query) == 0 || query[len(query)-1] != 0 {
		return nil, errors.New("chdb: query not NUL-terminated")
	}
	res := l.query(conn, unsafe.SliceData(query), format)
	runtime.KeepAlive(query) // the engine read it during the call
	if res == nil {
		return nil, errors.New("chdb: query returned no result (connection closed?)")
	}
	defer l.destroyResult(res)
	if msg := l.resultError(res); msg != "" {
		return nil, errors.New(msg)
	}
	n := l.resultLength(res)
	buf := l.resultBuffer(res)
	if n == 0 || buf == nil {
		return nil, nil
	}
	return append([]byte(nil), unsafe.Slice((*byte)(buf), n)...), nil
}
