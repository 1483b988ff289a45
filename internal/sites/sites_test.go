package sites

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/websystems/loendur/internal/store/storetest"
)

func TestNormalizeDomain(t *testing.T) {
	for in, want := range map[string]string{
		"Example.COM": "example.com", "example.com.": "example.com", "https://www.example.com/x": "www.example.com",
		"  blog.example.org ": "blog.example.org", "bücher.de": "xn--bcher-kva.de",
	} {
		if got, err := NormalizeDomain(in); err != nil || got != want {
			t.Errorf("NormalizeDomain(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "example.com/path", "exa mple.com", "a@b.com", "example.com:8080"} {
		if _, err := NormalizeDomain(bad); err == nil {
			t.Errorf("NormalizeDomain(%q) accepted", bad)
		}
	}
}

func TestRegistry(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			domain := "registry-" + engine + ".test"
			r := NewRegistry(db, log)
			added, err := r.Ensure(ctx, []string{"HTTPS://" + domain + "/"})
			if err != nil || len(added) != 1 || added[0] != domain {
				t.Fatalf("Ensure = %v, %v", added, err)
			}
			if added, _ := r.Ensure(ctx, []string{domain}); len(added) != 0 {
				t.Fatalf("second Ensure added %v", added)
			}
			site, ok := r.Lookup(domain)
			if !ok || site.Timezone != DefaultTimezone || site.RetentionMonths != DefaultRetentionMonths || site.HonourDNT != 1 {
				t.Fatalf("Lookup = %+v, %v", site, ok)
			}
			// A second registry (another collector) sees the site from the database.
			other := NewRegistry(db, log)
			if err := other.Load(ctx); err != nil {
				t.Fatal(err)
			}
			if _, ok := other.Lookup(domain); !ok {
				t.Fatal("site not visible to a second registry")
			}
			for origin, want := range map[string]bool{
				"https://" + domain: true, "http://blog." + domain + ":8080": true,
				"https://evil" + domain: false, "https://" + domain + ".evil.com": false, "null": false,
			} {
				if got := r.AllowsOrigin(origin); got != want {
					t.Errorf("AllowsOrigin(%q) = %v, want %v", origin, got, want)
				}
				if got := r.AllowsOriginFor(origin, domain); got != want {
					t.Errorf("AllowsOriginFor(%q, %q) = %v, want %v", origin, domain, got, want)
				}
			}
			for _, origin := range []string{"ftp://" + domain, "chrome-extension://" + domain, "https://" + domain + "@evil.test"} {
				if r.AllowsOrigin(origin) {
					t.Errorf("AllowsOrigin(%q) = true, want false (not a web page of the site)", origin)
				}
			}
			if r.AllowsOriginFor("https://"+domain, "other-"+domain) {
				t.Errorf("AllowsOriginFor: a page of %s may act for another site", domain)
			}
		})
	}
}
