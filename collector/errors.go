package collector

import "github.com/websystems/loendur/internal/httperr"

// Rejection reasons: the value of the X-Loendur-Reason header and of the reason label
// of loendur_events_rejected_total.
const (
	reasonBadBody         = "bad_body"
	reasonBadField        = "bad_field"
	reasonBadURL          = "bad_url"
	reasonUnknownSite     = "unknown_site"
	reasonForeignURL      = "foreign_url"
	reasonTooLarge        = "too_large"
	reasonRateLimited     = "rate_limited"
	reasonQueueFull       = "queue_full"
	reasonStarting        = "starting" // 503: no salt loaded yet
	reasonStopping        = "stopping" // 503: shutting down, the accept log is closed
	reasonBadMethod       = "bad_method"
	reasonBadType         = "bad_content_type"
	reasonHeadersTooLarge = "headers_too_large"
)

// Reasons for dropping an event while still answering 202: the sender did nothing wrong
// (or must not learn it was noticed), and nothing is stored.
const (
	dropBot      = "bot"      // a crawler, automation or prefetch, by its user agent or headers
	dropGPC      = "gpc"      // Sec-GPC: 1
	dropDNT      = "dnt"      // DNT: 1 where the site honours it
	dropExcluded = "excluded" // the site's admin excluded its address or user agent
	dropViewport = "viewport" // a viewport no person reads in
	dropBurst    = "burst"    // page views of one visitor faster than a person reads
	// dropReferrerSpam: a page view whose referrer is on the operator's referrer-spam list.
	dropReferrerSpam = "referrer_spam"
)

// dropReasons are every drop reason, registered at zero so dashboards see each series.
var dropReasons = []string{dropBot, dropGPC, dropDNT, dropExcluded, dropViewport, dropBurst, dropReferrerSpam}

// rejection is a refused request: an httperr.Error whose Reason is one of the reasons
// above and whose status statusOf chose. refuse and answer write it.
type rejection = httperr.Error

func reject(reason, message string) *rejection {
	return httperr.New(statusOf(reason), reason, message)
}
