package notice

import (
	"bytes"
	"fmt"
	"html/template"
	"net/netip"
	"strings"

	"github.com/websystems/loendur/internal/privacy"
)

// Languages the notice is written in.
var Languages = []string{"en", "et"}

// Notice is the privacy notice of a site in one language: the text for its privacy
// page, as HTML and as plain text, and the snippets it refers to.
type Notice struct {
	Lang  string   `json:"lang"`
	Title string   `json:"title"`
	Intro string   `json:"intro"`
	Items []string `json:"items"`
	HTML  string   `json:"html"`
	Text  string   `json:"text"`
	// Tracker is the script tag the notice assumes (consent mode and Do Not Track as
	// the site's settings say); Controls is the opt-out (or consent) box and the
	// "erase my visits" button, for the privacy page below the tracker.
	Tracker  string `json:"tracker"`
	Controls string `json:"controls"`
}

// Write renders the notice of f in lang ("en" or "et").
func Write(f Facts, lang string) (Notice, error) {
	w, ok := writers[lang]
	if !ok {
		return Notice{}, fmt.Errorf("language %q: choose en or et", lang)
	}
	n := Notice{Lang: lang, Title: w.title, Intro: w.intro(f), Items: w.items(f), Tracker: TrackerSnippet(f)}
	n.Controls = controlsSnippet(f, w)
	var b bytes.Buffer
	if err := noticeHTML.Execute(&b, n); err != nil {
		return Notice{}, fmt.Errorf("render notice: %w", err)
	}
	n.HTML = b.String()
	n.Text = n.Title + "\n\n" + n.Intro + "\n\n- " + strings.Join(n.Items, "\n- ") + "\n"
	return n, nil
}

var noticeHTML = template.Must(template.New("notice").Parse(`<section class="loendur-notice" lang="{{.Lang}}">
<h2>{{.Title}}</h2>
<p>{{.Intro}}</p>
<ul>
{{- range .Items}}
<li>{{.}}</li>
{{- end}}
</ul>
</section>
`))

// writer holds the sentences of one language; each reads only the facts it names.
type writer struct {
	title    string
	intro    func(Facts) string
	items    func(Facts) []string
	controls controlsText
}

type controlsText struct {
	consent, forget, blocked, failed, done string
}

var writers = map[string]writer{"en": english, "et": estonian}

// placeholderURL stands for loendur's address when it is not known.
const placeholderURL = "https://YOUR-LOENDUR-ADDRESS"

// TrackerSnippet is the script tag for f's site: data-consent="required" in consent
// mode, data-dnt="false" when the site does not honour Do Not Track (the tracker
// honours it unless told so).
func TrackerSnippet(f Facts) string {
	base := f.BaseURL
	if base == "" {
		base = placeholderURL
	}
	attrs := ""
	if f.Settings.ConsentRequired {
		attrs += ` data-consent="required"`
	}
	if !f.HonourDNT {
		attrs += ` data-dnt="false"`
	}
	return fmt.Sprintf(`<script defer src="%s/js/script.js" data-site="%s"%s></script>`, template.HTMLEscapeString(base), f.Site, attrs)
}

// controlsSnippet is the opt-out (or consent) box and the erase button. In consent mode
// the box starts ticked only after a consent (stored 0); otherwise it starts ticked
// unless the visitor opted out (stored 1).
func controlsSnippet(f Facts, w writer) string {
	initial := "v !== '1'"
	if f.Settings.ConsentRequired {
		initial = "v === '0'"
	}
	js := func(s string) string { return template.JSEscapeString(s) }
	return `<!-- loendur privacy controls -->
<p><label><input type="checkbox" id="loendur-consent"> ` + template.HTMLEscapeString(w.controls.consent) + `</label></p>
<p><button type="button" id="loendur-forget">` + template.HTMLEscapeString(w.controls.forget) + `</button> <span id="loendur-forget-result" role="status"></span></p>
<script>
  (function () {
    var box = document.getElementById('loendur-consent')
    var result = document.getElementById('loendur-forget-result')
    var ready = function () { return window.loendur && loendur.forget }
    try {
      var v = localStorage.getItem('loendur_optout')
      box.checked = ` + initial + `
    } catch (e) {}
    box.onchange = function () {
      if (ready()) loendur.consent(box.checked)
    }
    document.getElementById('loendur-forget').onclick = function () {
      if (!ready()) return (result.textContent = '` + js(w.controls.blocked) + `')
      loendur.forget().then(function (n) {
        result.textContent = n === undefined ? '` + js(w.controls.failed) + `' : '` + js(w.controls.done) + `' + n
      })
    }
  })()
</script>
<!-- end of loendur privacy controls -->
`
}

// truncationExample is what ingestion stores of 203.0.113.7 under f's IPv4 prefix.
func truncationExample(f Facts) string {
	return privacy.Truncator{V4Bits: f.IPv4Prefix, V6Bits: f.IPv6Prefix}.Truncate(netip.MustParseAddr("203.0.113.7")).String()
}

// sharedWith names, for the public, who outside receives reports: the domain of each
// e-mail recipient (never the address itself) and each open link.
func sharedWith(f Facts, email, anyoneWithLink string) []string {
	recipients, links := f.outside()
	var out []string
	seen := map[string]bool{}
	for _, r := range recipients {
		_, domain, _ := strings.Cut(r, "@")
		if domain == "" {
			domain = r
		}
		if !seen[domain] {
			seen[domain] = true
			out = append(out, domain+" ("+email+")")
		}
	}
	for _, l := range links {
		if l.Audience != "" {
			out = append(out, l.Audience)
		} else {
			out = append(out, fmt.Sprintf(anyoneWithLink, l.Label))
		}
	}
	return out
}

func propertyKeys(f Facts) string {
	keys := make([]string, len(f.Properties))
	for i, p := range f.Properties {
		keys[i] = p.Key
	}
	return strings.Join(keys, ", ")
}
