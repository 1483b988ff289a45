package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"slices"
	"strings"

	"github.com/websystems/loendur/internal/httperr"
)

// The lists an address can leave.
const (
	listReports = "reports"
	listAlerts  = "alerts"
)

// ErrBadToken is an unsubscribe link that is not one of ours (altered, or of a site
// whose keys changed): 404, whatever the reason.
var ErrBadToken = httperr.New(404, "", "This unsubscribe link is not valid. Ask the sender to remove your address.")

// token is the recipient's unsubscribe token: the list, site and address, and an
// HMAC-SHA256 of them under the site's token key, so it works without signing in and
// nobody can make one for another address.
func token(st Settings, list, addr string) string {
	payload := list + "\n" + st.Site + "\n" + addr
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + base64.RawURLEncoding.EncodeToString(mac(st.TokenKey, payload))
}

func mac(key, payload string) []byte {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(payload))
	return m.Sum(nil)[:20]
}

func (s *Service) unsubscribeURL(st Settings, list, addr string) string {
	if s.opts.PublicURL == "" || st.TokenKey == "" {
		return ""
	}
	return strings.TrimSuffix(s.opts.PublicURL, "/") + "/unsubscribe/" + url.PathEscape(token(st, list, addr))
}

// Subscription is what an unsubscribe token names.
type Subscription struct {
	List, Site, Address string
	Subscribed          bool // the address is still on the list
}

// Lookup checks a token and says what it names.
func (s *Service) Lookup(ctx context.Context, tok string) (Subscription, Settings, error) {
	p64, m64, ok := strings.Cut(tok, ".")
	payload, err1 := base64.RawURLEncoding.DecodeString(p64)
	sig, err2 := base64.RawURLEncoding.DecodeString(m64)
	if !ok || err1 != nil || err2 != nil {
		return Subscription{}, Settings{}, ErrBadToken
	}
	parts := strings.Split(string(payload), "\n")
	if len(parts) != 3 || (parts[0] != listReports && parts[0] != listAlerts) {
		return Subscription{}, Settings{}, ErrBadToken
	}
	st, err := s.Settings(ctx, parts[1])
	if err != nil {
		return Subscription{}, Settings{}, err
	}
	if st.TokenKey == "" || !hmac.Equal(sig, mac(st.TokenKey, string(payload))) {
		return Subscription{}, Settings{}, ErrBadToken
	}
	sub := Subscription{List: parts[0], Site: parts[1], Address: parts[2]}
	sub.Subscribed = slices.Contains(st.list(sub.List), sub.Address)
	return sub, st, nil
}

func (st Settings) list(name string) []string {
	if name == listAlerts {
		return st.AlertRecipients
	}
	return st.Recipients
}

// Unsubscribe takes the token's address off its list; a second time is harmless.
func (s *Service) Unsubscribe(ctx context.Context, tok string) (Subscription, error) {
	sub, st, err := s.Lookup(ctx, tok)
	if err != nil || !sub.Subscribed {
		return sub, err
	}
	keep := slices.DeleteFunc(slices.Clone(st.list(sub.List)), func(a string) bool { return a == sub.Address })
	if sub.List == listAlerts {
		st.AlertRecipients = keep
	} else {
		st.Recipients = keep
		if len(keep) == 0 {
			st.Weekly, st.Monthly = 0, 0
		}
	}
	if err := s.write(ctx, &st); err != nil {
		return sub, err
	}
	s.audit(ctx, sub.Address, "notify_unsubscribe", sub.Site, "list="+sub.List)
	sub.Subscribed = false
	return sub, nil
}
