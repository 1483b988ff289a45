package collector

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
	reasonBadMethod       = "bad_method"
	reasonBadType         = "bad_content_type"
	reasonHeadersTooLarge = "headers_too_large"
)

// Reasons for dropping an event while still answering 202: the sender did nothing wrong
// (or must not learn it was noticed), and nothing is stored.
const (
	dropBot = "bot"
	dropGPC = "gpc"
	dropDNT = "dnt"
)

// rejection is a refused beacon: the HTTP status is chosen in one place, statusOf.
type rejection struct {
	Reason  string `json:"error"`
	Message string `json:"message"`
}

func reject(reason, message string) *rejection { return &rejection{Reason: reason, Message: message} }
