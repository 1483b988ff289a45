package browsertest

import (
	"html/template"
	"slices"
	"strings"
	"testing"

	"github.com/websystems/loendur/internal/notice"
)

// The controls snippet that each site's privacy notice carries (internal/notice), run
// as a site pastes it: in English without consent mode the box starts ticked and
// unticking it opts out; in Estonian in consent mode it starts unticked and ticking it
// consents; the erase button reports in the notice's language.
func TestNoticeControlsSnippet(t *testing.T) {
	b := launch(t, false)
	controls := func(t *testing.T, lang string, consent bool) template.HTML {
		n, err := notice.Write(notice.Facts{Site: "site.test", RetentionMonths: 25, HonourDNT: true, IPv4Prefix: 16, IPv6Prefix: 48,
			Settings: notice.Settings{ConsentRequired: consent}}, lang)
		if err != nil {
			t.Fatal(err)
		}
		return template.HTML(n.Controls)
	}
	checked := func(w *world) bool {
		var on bool
		w.tab.eval(`document.getElementById('loendur-consent').checked`, &on)
		return on
	}

	t.Run("en, counting without asking: untick to opt out", func(t *testing.T) {
		w := newWorld(t, b)
		w.site.page("/privacy", pageSpec{Body: controls(t, "en", false)})
		w.tab.open(w.url("/privacy"))
		w.tab.waitTracker()
		if !checked(w) {
			t.Error("the box is unticked although the site counts")
		}
		if got := names(w, w.tab.settle()); !slices.Equal(got, []string{"pageview /privacy"}) {
			t.Errorf("the privacy page sent %q", got)
		}
		w.tab.click("#loendur-consent")
		m := w.tab.mark()
		w.tab.open(w.url("/privacy"))
		w.tab.waitTracker()
		w.tab.assertNothingSentSince(m)
		if checked(w) {
			t.Error("the box is ticked after opting out")
		}
		// The erase button answers in the notice's language (this stats server has no
		// /api/forget, so forget() resolves to undefined).
		w.tab.click("#loendur-forget")
		w.tab.poll(`document.getElementById('loendur-forget-result').textContent !== ''`)
		var said string
		w.tab.eval(`document.getElementById('loendur-forget-result').textContent`, &said)
		if said != "That did not work; please try again in a minute." {
			t.Errorf("erase button said %q", said)
		}
	})

	t.Run("et, consent mode: tick to consent", func(t *testing.T) {
		w := newWorld(t, b)
		w.site.page("/privacy", pageSpec{Attrs: `data-consent="required"`, Body: controls(t, "et", true)})
		w.tab.open(w.url("/privacy"))
		w.tab.waitTracker()
		if checked(w) {
			t.Error("the box is ticked before the visitor was asked")
		}
		w.tab.assertNothingSent()
		var label string
		w.tab.eval(`document.querySelector('label').textContent + '|' + document.getElementById('loendur-forget').textContent`, &label)
		if !strings.Contains(label, "Loenda minu külastusi") || !strings.HasSuffix(label, "|Kustuta minu külastused") {
			t.Errorf("Estonian controls: %q", label)
		}
		w.tab.click("#loendur-consent")
		if got := names(w, w.tab.settle()); !slices.Equal(got, []string{"pageview /privacy"}) {
			t.Errorf("after ticking the box the page sent %q", got)
		}
		w.tab.assertQuiet()
	})
}
