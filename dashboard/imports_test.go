package dashboard

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/websystems/loendur/dashboard/auth"
	"github.com/websystems/loendur/internal/imports/importstest"
	"github.com/websystems/loendur/internal/store/storetest"
)

// An admin sends a file in chunks, the import runs and its progress can be polled; it
// is listed and can be deleted. Managers cannot reach any of it.
func TestUploadImport(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, db, "upload-"+engine, "history")
			site := e.sites[0]
			admin := e.browser()
			admin.mustLogin(e.addUser("admin-upload-"+engine+"@agency.example", auth.RoleAdmin, nil))
			file, err := os.ReadFile(importstest.GA4JSON(t, site))
			if err != nil {
				t.Fatal(err)
			}
			file = append(file, bytes.Repeat([]byte("\n"), 40_000)...) // blank lines: several chunks, the same rows
			base := "/api/v1/sites/" + site
			var start struct {
				ID    string `json:"id"`
				Chunk int    `json:"chunk"`
			}
			r := admin.api(http.MethodPost, fmt.Sprintf("%s/uploads?name=events_20240305.json&size=%d", base, len(file)), nil)
			if r.StatusCode != http.StatusCreated {
				t.Fatalf("start: %d %s", r.StatusCode, r.body)
			}
			r.json(t, &start)
			if start.Chunk == 0 || start.Chunk >= len(file) {
				t.Fatalf("chunk %d for a file of %d bytes: the test must send several", start.Chunk, len(file))
			}
			put := func(off int, chunk []byte) response {
				return admin.do(http.MethodPut, fmt.Sprintf("%s/uploads/%s?offset=%d", base, start.ID, off), bytes.NewReader(chunk),
					map[string]string{auth.CSRFHeader: admin.csrf, "Content-Type": "application/octet-stream"})
			}
			// Finishing early, or a chunk at the wrong offset, is refused.
			if r := admin.api(http.MethodPost, base+"/uploads/"+start.ID+"/finish", nil); r.StatusCode != http.StatusConflict {
				t.Errorf("finish before the last chunk: %d %s", r.StatusCode, r.body)
			}
			if r := put(5, file[5:10]); r.StatusCode != http.StatusConflict {
				t.Errorf("chunk at a wrong offset: %d %s", r.StatusCode, r.body)
			}
			for off := 0; off < len(file); off += start.Chunk {
				if r := put(off, file[off:min(off+start.Chunk, len(file))]); r.StatusCode != http.StatusOK {
					t.Fatalf("chunk at %d: %d %s", off, r.StatusCode, r.body)
				}
			}
			if r := admin.api(http.MethodPost, base+"/uploads/"+start.ID+"/finish", nil); r.StatusCode != http.StatusAccepted {
				t.Fatalf("finish: %d %s", r.StatusCode, r.body)
			}
			var st struct {
				State  string `json:"state"`
				Error  string `json:"error"`
				Import struct {
					Rows   uint64 `json:"rows"`
					Source string `json:"source"`
				} `json:"import"`
			}
			e.dash.uploads.running.Wait() // what the page's poll waits for
			admin.get(base+"/uploads/"+start.ID).json(t, &st)
			if st.State != "done" || st.Import.Rows != 6 || st.Import.Source != "ga4" {
				t.Fatalf("state %+v, want done with 6 rows of ga4", st)
			}
			if !e.auditHas("import", site) {
				t.Error("no audit entry for the import")
			}
			var list struct {
				Imports []struct {
					ID   string `json:"id"`
					From string `json:"from"`
					Rows uint64 `json:"rows"`
				} `json:"imports"`
			}
			admin.get(base+"/imports").json(t, &list)
			if len(list.Imports) != 1 || list.Imports[0].From != "2024-03-05" || list.Imports[0].Rows != 6 {
				t.Fatalf("list: %+v", list)
			}

			manager := e.browser()
			manager.mustLogin(e.addUser("manager-upload-"+engine+"@client.example", auth.RoleManager, []string{site}))
			for _, req := range []struct{ method, path string }{
				{http.MethodGet, base + "/imports"}, {http.MethodPost, base + "/uploads?name=x.csv&size=1"},
				{http.MethodDelete, base + "/imports/" + list.Imports[0].ID},
			} {
				if r := manager.api(req.method, req.path, nil); r.StatusCode != http.StatusForbidden {
					t.Errorf("manager %s %s: %d", req.method, req.path, r.StatusCode)
				}
			}

			if r := admin.api(http.MethodDelete, base+"/imports/"+list.Imports[0].ID, nil); r.StatusCode != http.StatusNoContent {
				t.Fatalf("delete: %d %s", r.StatusCode, r.body)
			}
			if r := admin.api(http.MethodDelete, base+"/imports/"+list.Imports[0].ID, nil); r.StatusCode != http.StatusNotFound {
				t.Errorf("deleting it again: %d %s", r.StatusCode, r.body)
			}
			admin.get(base+"/imports").json(t, &list)
			if len(list.Imports) != 0 {
				t.Errorf("after delete: %+v", list)
			}
			// The settings page offers it.
			if page := admin.get("/admin/sites"); !strings.Contains(page.body, `data-site="`+site+`"`) || !strings.Contains(page.body, "Import history") {
				t.Error("the sites page has no import section for the site")
			}
		})
	}
}
