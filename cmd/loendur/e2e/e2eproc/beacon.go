package e2eproc

import (
	"encoding/json"
	"io"
	"net/http"
)

// Beacon is the JSON body of an event of site: its name, its url and extra fields
// (props, width, ...).
func Beacon(site, name, url string, extra map[string]any) string {
	m := map[string]any{"site": site, "name": name, "url": url}
	for k, v := range extra {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // only values that cannot fail to encode are passed
	}
	return string(b)
}

// Reply is an answer of the beacon endpoint.
type Reply struct {
	Status int
	Reason string // X-Loendur-Reason
	Body   []byte
	Header http.Header
}

// Send sends body to url with method as a desktop Firefox's sendBeacon would
// (NewBeacon) and reads the answer. hdr adds or replaces headers; one given as "" is
// not sent ("User-Agent": "" sends no user agent at all).
func Send(c *http.Client, method, url, body string, hdr map[string]string) (Reply, error) {
	req, err := NewBeacon(method, url, body)
	if err != nil {
		return Reply{}, err
	}
	for k, v := range hdr {
		k = http.CanonicalHeaderKey(k)
		switch {
		case v != "":
			req.Header[k] = []string{v}
		case k == "User-Agent":
			req.Header[k] = []string{""} // net/http sends its own when the header is absent
		default:
			req.Header.Del(k)
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		return Reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return Reply{}, err
	}
	return Reply{Status: resp.StatusCode, Reason: resp.Header.Get("X-Loendur-Reason"), Body: b, Header: resp.Header}, nil
}

// Rejected is the /metrics key (as ParseMetrics keeps it) of beacons refused for reason.
func Rejected(reason string) string {
	return `loendur_events_rejected_total{reason="` + reason + `"}`
}

// Dropped is the /metrics key of accepted events dropped for reason.
func Dropped(reason string) string {
	return `loendur_events_dropped_total{reason="` + reason + `"}`
}
