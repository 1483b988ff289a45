package acceptlog

import (
	"errors"
	"fmt"
	"time"
)

// DefaultSyncInterval is the default Options.SyncInterval of `loendur serve`: what a
// power cut or kernel crash can cost is the events accepted in the last 100 ms (plus
// the fsync's own time). An fsync of 100 ms of events is one journal commit of at most
// a few MB, about a millisecond on an SSD, so this is at most ten fsyncs a second, off
// the request path (handlers never wait for one), and none at all while no event
// arrives. PostgreSQL's wal_writer_delay, the same trade for asynchronous commits, is
// 200 ms; ten times below the one-second --flush-interval, the bound no longer depends
// on how batches are flushed. On a spinning disk (about 10 ms an fsync) 200 ms or more
// may suit better.
const DefaultSyncInterval = 100 * time.Millisecond

// wrote records a write for the fsync accounting: the log is dirty from now, and the
// syncer is woken when it was clean. No clock is read unless the log was clean, or an
// fsync runs and this is the first write since it began: not a cost per event, nor per
// write. Called with wmu held, after a write of at least one byte.
func (l *Log) wrote(maxSeq uint64) {
	l.writes++
	l.writtenSeq = max(l.writtenSeq, maxSeq)
	if l.dirtySince.IsZero() {
		l.dirtySince = time.Now()
		select {
		case l.kick <- struct{}{}: // a nil kick (no syncer) is never ready
		default:
		}
	}
	if l.syncing && l.nextSince.IsZero() {
		l.nextSince = time.Now()
	}
}

// syncer fsyncs the log once its oldest unsynced write is syncEvery old, until stop.
// It sleeps while nothing is written: an idle log is never fsynced.
func (l *Log) syncer(kick, stop <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	for {
		l.wmu.Lock()
		since := l.dirtySince
		l.wmu.Unlock()
		if since.IsZero() {
			select {
			case <-kick:
				continue
			case <-stop:
				return
			}
		}
		// Delivering may have fsynced meanwhile: look again after the wait.
		if d := l.syncEvery - time.Since(since); d > 0 {
			if !sleep(d, stop) {
				return
			}
			continue
		}
		l.smu.Lock()
		err := l.syncLocked()
		failing := l.syncFailing
		l.syncFailing = err != nil
		l.smu.Unlock()
		switch {
		case err != nil && !failing:
			l.log.Error("accept log: fsync failed; accepted events survive a kill but may not survive a power cut; retrying", "err", err)
		case err == nil && failing:
			l.log.Info("accept log: fsync works again")
		}
		if err != nil && !sleep(l.syncEvery, stop) {
			return
		}
	}
}

// sleep waits d, or until stop is closed: then it returns false.
func sleep(d time.Duration, stop <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-stop:
		return false
	}
}

// syncLocked fsyncs the written part of the current segment (syncWritten), and first the
// segments replaced since the last fsync and the folder (for the new segments' names),
// if anything was written since the last fsync, and records what a power cut just
// before it would have lost. Writes go on meanwhile: no lock of theirs is held during an
// fsync. Called with smu held.
func (l *Log) syncLocked() error {
	l.mu.Lock()
	cur, rotated := l.cur, l.unsynced
	l.unsynced = nil
	l.mu.Unlock()
	if cur == nil && len(rotated) == 0 {
		return ErrClosed
	}
	l.wmu.Lock()
	if l.writes == l.syncedWrites && len(rotated) == 0 {
		l.wmu.Unlock()
		return nil
	}
	writes, seq := l.writes, l.writtenSeq
	l.syncing, l.nextSince = true, time.Time{}
	l.wmu.Unlock()
	if l.beforeFsync != nil {
		l.beforeFsync()
	}

	var err error
	for _, seg := range rotated {
		seg.waitCopies() // every record counted in writes is in, those placed after too
		err = errors.Join(err, seg.f.Sync())
	}
	if len(rotated) > 0 {
		err = errors.Join(err, syncDir(l.dir))
	}
	if err == nil && cur != nil {
		// Every record counted in writes was placed before this.
		l.mu.Lock()
		end := cur.off
		l.mu.Unlock()
		err = cur.syncWritten(end)
	}
	now := time.Now()

	l.wmu.Lock()
	l.syncing = false
	if err != nil {
		l.wmu.Unlock()
		l.mu.Lock()
		l.unsynced = append(rotated, l.unsynced...) // for the next attempt
		l.mu.Unlock()
		l.m.errors.Inc()
		return fmt.Errorf("acceptlog: fsync: %w", err)
	}
	// Until this fsync returned, a power cut could have lost every event written since
	// the previous one, those written while it ran included.
	events := l.writtenSeq - l.syncedSeq
	var age time.Duration
	if !l.dirtySince.IsZero() {
		age = now.Sub(l.dirtySince)
	}
	l.syncedWrites, l.syncedSeq = writes, seq
	if l.writes == writes {
		l.dirtySince = time.Time{}
	} else {
		l.dirtySince = l.nextSince // what was written after the fsync began is still exposed
	}
	l.wmu.Unlock()
	l.observe(events, age)
	return nil
}

// observe records one fsync's exposure. Called with smu held.
func (l *Log) observe(events uint64, age time.Duration) {
	l.m.age.Observe(age.Seconds())
	if events > l.peakEvents {
		l.peakEvents = events
		l.m.peakEvents.Set(float64(events))
	}
	if age > l.peakAge {
		l.peakAge = age
		l.m.peakSeconds.Set(age.Seconds())
	}
}
