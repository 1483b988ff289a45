package store

import (
	"context"
	"runtime"
	"sync"
	"syscall"
)

type backgroundKey struct{}

// InBackground marks an insert as one that may wait for the CPU: the embedded engine
// then runs it on a thread of lower priority than the rest of the process (nice
// backgroundNice), so that the beacon's handlers, which share the process and the
// machine's cores with it, are not held up by a batch being parsed and written. The
// ClickHouse server is another process and ignores it. The collector's writer asks
// for it while its queue keeps up, and not when events pile up, when the insert must
// compete as usual (a starved insert would fill the queue and the beacon would answer
// 503).
func InBackground(ctx context.Context) context.Context {
	return context.WithValue(ctx, backgroundKey{}, true)
}

func inBackground(ctx context.Context) bool {
	b, _ := ctx.Value(backgroundKey{}).(bool)
	return b
}

// backgroundNice is the nice value of the background thread: under full load it gets
// about a tenth of a core against a normal thread (the kernel's weights for nice 10
// and 0 are 110 and 1024), and all of an idle one.
const backgroundNice = 10

// backgroundThread is one OS thread, for the life of the process, that runs the calls
// given to it at backgroundNice. A thread of its own because a nice value belongs to a
// thread, and an unprivileged process cannot raise it back: the Go scheduler's other
// threads must never get it. It is never unlocked and never exits.
var backgroundThread struct {
	once sync.Once
	jobs chan func()
}

// runInBackground runs f on the background thread and returns when f has.
func runInBackground(f func()) {
	backgroundThread.once.Do(func() {
		backgroundThread.jobs = make(chan func())
		ready := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			// Linux applies PRIO_PROCESS with a thread id to that thread only. Should it
			// fail, the thread runs at normal priority, as the calls did before.
			_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), backgroundNice)
			close(ready)
			for job := range backgroundThread.jobs {
				job()
			}
		}()
		<-ready
	})
	done := make(chan struct{})
	backgroundThread.jobs <- func() {
		defer close(done)
		f()
	}
	<-done
}
