package notice

// Report is everything shown for one site: the facts, the check and the notice in
// every language. The dashboard page, the API and the command line all show it.
type Report struct {
	Site    string            `json:"site"`
	Check   Check             `json:"check"`
	Notices map[string]Notice `json:"notice"`
	Facts   Facts             `json:"facts"`
}

// Build runs the check and writes the notice in every language from f.
func Build(f Facts) (Report, error) {
	r := Report{Site: f.Site, Check: Evaluate(f), Notices: map[string]Notice{}, Facts: f}
	for _, lang := range Languages {
		n, err := Write(f, lang)
		if err != nil {
			return Report{}, err
		}
		r.Notices[lang] = n
	}
	return r, nil
}
