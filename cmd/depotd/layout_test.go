package main

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/depotd/depotd/"

// allowed says which of our packages each layer may import: data flows devices → stations
// → journal → uplink, and no package reaches "up" that chain. Only cmd/depotd imports
// everything.
var allowed = []struct{ pkg, may string }{
	{"devices", "devices"},
	{"edge/station", "edge devices"},
	{"edge/console", "edge"},
	// The depot's own judgements (anomalies, count lists, replenishment) read the journal
	// as the console does; the journal never calls them.
	{"edge/anomaly", "edge"},
	{"edge/countlist", "edge"},
	{"edge/replenish", "edge"},
	{"edge/daily", "edge"},
	{"edge/synchealth", "edge"},
	{"edge", "devices"},
	{"uplink", "edge uplink"},
	{"firmware-config", ""},
}

// TestLayering enforces the import direction and that every package documents itself.
func TestLayering(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	n := 0
	for dec.More() {
		var p struct {
			ImportPath string
			Doc        string
			Imports    []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		n++
		rel := strings.TrimPrefix(p.ImportPath, module)
		if p.Doc == "" {
			t.Errorf("%s has no package doc comment", rel)
		}
		if rel == "cmd/depotd" {
			continue
		}
		rule := ""
		found := false
		for _, a := range allowed {
			if rel == a.pkg || strings.HasPrefix(rel, a.pkg+"/") {
				rule, found = a.may, true
				break
			}
		}
		if !found {
			t.Errorf("%s: no layering rule (add it to allowed)", rel)
			continue
		}
		for _, imp := range p.Imports {
			dep, ours := strings.CutPrefix(imp, module)
			if !ours || dep == rel || strings.HasPrefix(dep, rel+"/") {
				continue
			}
			ok := false
			for _, may := range strings.Fields(rule) {
				if dep == may || strings.HasPrefix(dep, may+"/") {
					ok = true
				}
			}
			if !ok {
				t.Errorf("%s imports %s, against the data flow (allowed: %q)", rel, dep, rule)
			}
		}
	}
	if n < 10 {
		t.Fatalf("go list found only %d packages", n)
	}
}
