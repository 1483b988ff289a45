package notify

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"image"
	"image/color"
	"image/png"
	"math"
	"strconv"
	"strings"
	texttemplate "text/template"

	"github.com/websystems/loendur/dashboard/reports"
	"github.com/websystems/loendur/internal/mailer"
)

// ChartID is the Content-ID of the report's chart: mail clients show an inline part
// without loading anything (Gmail shows no inline SVG, and remote images are blocked).
const ChartID = "chart@loendur"

// figure is one headline number as the mail shows it.
type figure struct {
	Name, Value, Previous, Change string
	Better                        bool // the change is good news (green)
	Neutral                       bool // nothing to compare with (grey)
}

// table is a list of rows as the mail shows it.
type table struct {
	Title   string
	Columns []string
	Rows    [][]string
}

type mailView struct {
	Site, Title, Period, Comparison string
	Figures                         []figure
	Tables                          []table
	Chart                           bool
	ChartFrom, ChartTo              string
	Dashboard, Unsubscribe          string
}

func (r Report) view(dashboard, unsubscribe string) mailView {
	o := r.Overview
	v := mailView{Site: r.Site, Title: r.Title, Period: span(r.Period.Current), Comparison: span(r.Period.Previous),
		Dashboard: dashboard, Unsubscribe: unsubscribe, Chart: len(r.Series) > 1}
	v.Figures = []figure{
		countFigure("Visitors", o.Visitors), countFigure("Visits", o.Visits), countFigure("Page views", o.Pageviews),
		{Name: "Bounce rate", Value: pct(o.BounceRate.Value), Previous: pct(o.BounceRate.Previous),
			Change: points(o.BounceRate.Change), Better: o.BounceRate.Change != nil && *o.BounceRate.Change < 0},
		{Name: "Visit duration", Value: duration(o.VisitDuration.Value), Previous: duration(o.VisitDuration.Previous),
			Change: change(o.VisitDuration.Change), Better: o.VisitDuration.Change != nil && *o.VisitDuration.Change > 0,
			Neutral: o.VisitDuration.Change == nil},
	}
	if len(r.Series) > 0 {
		v.ChartFrom, v.ChartTo = fmt.Sprint(r.Series[0].Get("date")), fmt.Sprint(r.Series[len(r.Series)-1].Get("date"))
	}
	v.Tables = []table{
		rowsTable("Top pages", r.TopPages, []string{"Page", "Visitors", "Page views"}, "page", "visitors", "pageviews"),
		rowsTable("Exit pages", r.ExitPages, []string{"Page", "Exits", "Exit rate"}, "page", "exits", "exit_rate"),
		rowsTable("Top sources", r.Sources, []string{"Source", "Visitors", "Visits"}, "source", "visitors", "visits"),
	}
	return v
}

func countFigure(name string, m reports.Metric) figure {
	return figure{Name: name, Value: count(m.Value), Previous: count(m.Previous), Change: change(m.Change),
		Better: m.Change != nil && *m.Change > 0, Neutral: m.Change == nil}
}

func rowsTable(title string, rows []reports.Row, cols []string, fields ...string) table {
	t := table{Title: title, Columns: cols}
	for _, r := range rows {
		var cells []string
		for i, f := range fields {
			val := r.Get(f)
			switch {
			case f == "exit_rate":
				cells = append(cells, pct(toFloat(val)))
			case i == 0:
				s := fmt.Sprint(val)
				if s == "" {
					s = "(direct / none)"
				}
				cells = append(cells, s)
			default:
				cells = append(cells, count(toFloat(val)))
			}
		}
		t.Rows = append(t.Rows, cells)
	}
	return t
}

func toFloat(v any) float64 {
	switch n := v.(type) {
	case uint64:
		return float64(n)
	case float64:
		return n
	case int:
		return float64(n)
	}
	return 0
}

func span(r reports.Range) string {
	if r.Days() == 1 {
		return r.From.Format("2 Jan 2006")
	}
	return r.From.Format("2 Jan 2006") + " – " + r.To.Format("2 Jan 2006")
}

// count writes a whole number with thousands separators: 12,345.
func count(f float64) string {
	s := strconv.FormatInt(int64(math.Round(f)), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func pct(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) + " %" }

func duration(sec float64) string {
	s := int(math.Round(sec))
	if s < 60 {
		return fmt.Sprintf("%ds", s)
	}
	return fmt.Sprintf("%dm %02ds", s/60, s%60)
}

func change(c *float64) string {
	if c == nil {
		return "new"
	}
	return signed(*c) + " %"
}

func points(c *float64) string {
	if c == nil {
		return ""
	}
	return signed(*c) + " pp"
}

func signed(f float64) string {
	if f > 0 {
		return "+" + strconv.FormatFloat(f, 'f', 1, 64)
	}
	if f < 0 {
		return "−" + strconv.FormatFloat(-f, 'f', 1, 64)
	}
	return "±0"
}

// Subject is the report mail's subject line.
func (r Report) Subject() string {
	return fmt.Sprintf("%s: %s visitors, %s (%s)", r.Site, count(r.Overview.Visitors.Value), span(r.Period.Current),
		change(r.Overview.Visitors.Change))
}

// Message renders the report as one recipient's mail: HTML with the chart inline,
// plain text, and the recipient's unsubscribe link.
func (r Report) Message(to, dashboard, unsubscribe string) (mailer.Message, error) {
	v := r.view(dashboard, unsubscribe)
	var html, text bytes.Buffer
	if err := htmlMail.Execute(&html, v); err != nil {
		return mailer.Message{}, fmt.Errorf("render report mail: %w", err)
	}
	if err := textMail.Execute(&text, v); err != nil {
		return mailer.Message{}, fmt.Errorf("render report mail: %w", err)
	}
	msg := mailer.Message{To: to, Subject: r.Subject(), Text: text.String(), HTML: html.String(), Unsubscribe: unsubscribe}
	if v.Chart {
		chart, err := r.chart()
		if err != nil {
			return mailer.Message{}, err
		}
		msg.Inline = []mailer.Inline{{ID: ChartID, Name: "visitors.png", ContentType: "image/png", Data: chart}}
	}
	return msg, nil
}

// Chart geometry: a bar per day (or hour), the previous period's as a paler bar behind.
const (
	chartW, chartH = 600, 160
	chartPad       = 4
)

var (
	barColor  = color.RGBA{0x25, 0x63, 0xeb, 0xff}
	prevColor = color.RGBA{0xcb, 0xd5, 0xe1, 0xff}
	axisColor = color.RGBA{0x94, 0xa3, 0xb8, 0xff}
)

// chart draws the visitors of each bucket against the previous period's as a PNG.
func (r Report) chart() ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, chartW, chartH))
	fill(img, img.Bounds(), color.White)
	top := 1.0
	for _, row := range r.Series {
		top = max(top, toFloat(row.Get("visitors")), toFloat(row.Get("previous_visitors")))
	}
	n := len(r.Series)
	slot := float64(chartW-2*chartPad) / float64(n)
	base := chartH - chartPad
	height := func(v float64) int { return int(math.Round(v / top * float64(chartH-2*chartPad))) }
	for i, row := range r.Series {
		x0 := chartPad + int(float64(i)*slot)
		w := max(int(slot*0.8), 2)
		fill(img, image.Rect(x0, base-height(toFloat(row.Get("previous_visitors"))), x0+w, base), prevColor)
		inner := max(w/2, 1)
		fill(img, image.Rect(x0+w/4, base-height(toFloat(row.Get("visitors"))), x0+w/4+inner, base), barColor)
	}
	fill(img, image.Rect(0, base, chartW, base+1), axisColor)
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("draw chart: %w", err)
	}
	return b.Bytes(), nil
}

func fill(img *image.RGBA, r image.Rectangle, c color.Color) {
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.Set(x, y, c)
		}
	}
}

// The mail's HTML keeps to what mail clients render: tables, inline styles, no script,
// no remote resource (the chart is the inline part cid:ChartID).
var htmlMail = htmltemplate.Must(htmltemplate.New("html").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{.Title}}: {{.Site}}</title></head>
<body style="margin:0;padding:0;background:#f1f5f9;font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;color:#0f172a">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f1f5f9"><tr><td align="center" style="padding:24px 8px">
<table role="presentation" width="640" cellpadding="0" cellspacing="0" style="max-width:640px;width:100%;background:#ffffff;border-radius:8px">
<tr><td style="padding:24px 24px 8px">
<p style="margin:0;font-size:13px;color:#64748b">{{.Title}}</p>
<h1 style="margin:4px 0 0;font-size:22px" id="site">{{.Site}}</h1>
<p style="margin:4px 0 0;font-size:14px;color:#334155" id="period">{{.Period}} <span style="color:#64748b">compared with {{.Comparison}}</span></p>
</td></tr>
<tr><td style="padding:8px 16px">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" id="figures"><tr>
{{- range .Figures}}
<td style="padding:8px;vertical-align:top" data-figure="{{.Name}}">
<div style="font-size:12px;color:#64748b">{{.Name}}</div>
<div style="font-size:20px;font-weight:bold" class="value">{{.Value}}</div>
<div style="font-size:12px;color:{{if .Neutral}}#64748b{{else if .Better}}#15803d{{else}}#b91c1c{{end}}" class="change">{{.Change}}</div>
<div style="font-size:11px;color:#94a3b8">before: {{.Previous}}</div>
</td>
{{- end}}
</tr></table>
</td></tr>
{{- if .Chart}}
<tr><td style="padding:8px 24px">
<img src="cid:chart@loendur" width="592" alt="Visitors per day, with the previous period in grey" style="display:block;width:100%;max-width:592px;height:auto;border:0">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0"><tr>
<td style="font-size:11px;color:#64748b">{{.ChartFrom}}</td><td align="right" style="font-size:11px;color:#64748b">{{.ChartTo}}</td>
</tr></table>
<p style="margin:4px 0 0;font-size:11px;color:#64748b"><span style="color:#2563eb">■</span> visitors <span style="color:#cbd5e1">■</span> previous period</p>
</td></tr>
{{- end}}
{{- range .Tables}}
<tr><td style="padding:16px 24px 0">
<h2 style="margin:0 0 8px;font-size:16px">{{.Title}}</h2>
{{- if .Rows}}
<table role="presentation" width="100%" cellpadding="4" cellspacing="0" style="font-size:13px;border-collapse:collapse" data-table="{{.Title}}">
<tr>{{range $i, $c := .Columns}}<th align="{{if $i}}right{{else}}left{{end}}" style="border-bottom:1px solid #e2e8f0;color:#64748b;font-weight:normal">{{$c}}</th>{{end}}</tr>
{{- range .Rows}}
<tr>{{range $i, $c := .}}<td align="{{if $i}}right{{else}}left{{end}}" style="border-bottom:1px solid #f1f5f9;{{if not $i}}word-break:break-all{{end}}">{{$c}}</td>{{end}}</tr>
{{- end}}
</table>
{{- else}}
<p style="margin:0;font-size:13px;color:#64748b">Nothing in this period.</p>
{{- end}}
</td></tr>
{{- end}}
<tr><td style="padding:24px;font-size:12px;color:#64748b">
{{- if .Dashboard}}<p style="margin:0 0 8px"><a href="{{.Dashboard}}" style="color:#2563eb">Open the full report</a></p>{{end}}
<p style="margin:0">You receive this report because an administrator of loendur added your address.
{{- if .Unsubscribe}} <a href="{{.Unsubscribe}}" style="color:#2563eb" id="unsubscribe">Unsubscribe</a>{{end}}</p>
</td></tr>
</table></td></tr></table>
</body></html>
`))

var textMail = texttemplate.Must(texttemplate.New("text").Parse(`{{.Title}}: {{.Site}}
{{.Period}} (compared with {{.Comparison}})

{{range .Figures}}{{printf "%-15s" .Name}} {{printf "%12s" .Value}}  {{.Change}} (before: {{.Previous}})
{{end}}
{{- range .Tables}}
{{.Title}}
{{- if .Rows}}
{{- range .Rows}}
  {{range $i, $c := .}}{{if $i}}  {{printf "%10s" $c}}{{else}}{{printf "%-40s" $c}}{{end}}{{end}}
{{- end}}
{{- else}}
  Nothing in this period.
{{- end}}
{{end}}
{{if .Dashboard}}Full report: {{.Dashboard}}
{{end}}
{{- if .Unsubscribe}}Unsubscribe: {{.Unsubscribe}}
{{end}}`))
