package notify_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/websystems/loendur/dashboard/notify"
	"github.com/websystems/loendur/internal/eventtest"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
)

// viewsAt stores n page views in the hour from h.
func viewsAt(t *testing.T, db store.Store, site string, h time.Time, n int) {
	t.Helper()
	evs := eventtest.Pageviews(site, h.Add(5*time.Minute), n)
	for i := range evs {
		evs[i].IP = "203.0.0.0"
	}
	if err := store.InsertEvents(context.Background(), db, evs); err != nil {
		t.Fatal(err)
	}
}

// An hour with six times the page views of that hour on the week before is a spike:
// one alert by webhook; the next hour back to normal resolves it.
func TestTrafficSpikeAlert(t *testing.T) {
	db := storetest.Server(t)
	site := "spike.test"
	spikeHour := time.Date(2024, 6, 10, 14, 0, 0, 0, time.UTC)
	e := newEnv(t, db, site, "UTC", spikeHour)
	for d := 1; d <= 7; d++ {
		day := spikeHour.Add(-time.Duration(d) * 24 * time.Hour)
		viewsAt(t, db, site, day, 10)
		viewsAt(t, db, site, day.Add(time.Hour), 10)
	}
	viewsAt(t, db, site, spikeHour, 60)
	var st notify.Settings
	rcv := &webhookReceiver{t: t, secret: func() string { return st.WebhookSecret }}
	hook := httptest.NewServer(rcv)
	defer hook.Close()
	svc := e.service(nil)
	st = e.save(svc, notify.Input{Spike: ptr(true), WebhookURL: ptr(hook.URL)})

	e.clock.Set(spikeHour.Add(time.Hour + 5*time.Minute)) // the spike hour is the last whole one
	svc.Tick(context.Background())
	svc.Tick(context.Background())
	notices, bad, _ := rcv.got()
	if len(bad) > 0 || len(notices) != 1 || notices[0].Alert != notify.AlertSpike || notices[0].State != "open" ||
		notices[0].Incident != "2024-06-10T14" {
		t.Fatalf("notices %+v (refused %v); want one spike alert for 14:00", notices, bad)
	}
	viewsAt(t, db, site, spikeHour.Add(time.Hour), 11)
	e.clock.Set(spikeHour.Add(2*time.Hour + 5*time.Minute))
	svc.Tick(context.Background())
	svc.Tick(context.Background())
	notices, _, _ = rcv.got()
	if len(notices) != 2 || notices[1].State != "resolved" || notices[1].Incident != "2024-06-10T14" {
		t.Fatalf("notices %+v; want the spike and its resolution", notices)
	}
}

// An hour with a tenth of its usual page views is a drop: one alert; back to normal,
// one resolution.
func TestTrafficDropAlert(t *testing.T) {
	db := storetest.Server(t)
	site := "drop.test"
	dropHour := time.Date(2024, 6, 10, 14, 0, 0, 0, time.UTC)
	e := newEnv(t, db, site, "UTC", dropHour)
	for d := 1; d <= 7; d++ {
		day := dropHour.Add(-time.Duration(d) * 24 * time.Hour)
		viewsAt(t, db, site, day, 40)
		viewsAt(t, db, site, day.Add(time.Hour), 40)
	}
	viewsAt(t, db, site, dropHour, 4)
	var st notify.Settings
	rcv := &webhookReceiver{t: t, secret: func() string { return st.WebhookSecret }}
	hook := httptest.NewServer(rcv)
	defer hook.Close()
	svc := e.service(nil)
	st = e.save(svc, notify.Input{Spike: ptr(true), WebhookURL: ptr(hook.URL)})

	e.clock.Set(dropHour.Add(time.Hour + 5*time.Minute))
	svc.Tick(context.Background())
	svc.Tick(context.Background())
	notices, bad, _ := rcv.got()
	if len(bad) > 0 || len(notices) != 1 || notices[0].Alert != notify.AlertDrop || notices[0].State != "open" {
		t.Fatalf("notices %+v (refused %v); want one drop alert", notices, bad)
	}
	viewsAt(t, db, site, dropHour.Add(time.Hour), 38)
	e.clock.Set(dropHour.Add(2*time.Hour + 5*time.Minute))
	svc.Tick(context.Background())
	notices, _, _ = rcv.got()
	if len(notices) != 2 || notices[1].State != "resolved" || notices[1].Alert != notify.AlertDrop {
		t.Fatalf("notices %+v; want the drop and its resolution", notices)
	}
}
