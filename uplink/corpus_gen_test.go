package uplink

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite testdata/fuzz seed files from the case catalogues")

// TestSeedCorpus keeps testdata/fuzz in step with the catalogues: it fails when a seed
// file is missing and rewrites them with -update-corpus.
func TestSeedCorpus(t *testing.T) {
	files := map[string]string{}
	for i, tc := range ackCases {
		files[fmt.Sprintf("FuzzParseAck/seed-%02d", i)] = fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", tc.payload)
	}
	for i, tc := range cmdCases {
		files[fmt.Sprintf("FuzzParseCommand/seed-%02d", i)] = fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", tc.payload)
	}
	for i, tc := range requestCases {
		files[fmt.Sprintf("FuzzParseRequest/seed-%02d", i)] = fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", tc.payload)
	}
	for i, tc := range txCases {
		files[fmt.Sprintf("FuzzTx/seed-%02d", i)] = fmt.Sprintf("go test fuzz v1\nstring(%q)\nuint64(%d)\nbool(%v)\n", tc.raw, tc.seq, tc.replay)
	}
	for i, tc := range fleetCases {
		files[fmt.Sprintf("FuzzFleetUpdate/seed-%02d", i)] = fmt.Sprintf("go test fuzz v1\nstring(%q)\n[]byte(%q)\n", tc.topic, tc.payload)
	}
	for name, want := range files {
		path := filepath.Join("testdata", "fuzz", name)
		if *updateCorpus {
			os.MkdirAll(filepath.Dir(path), 0o755)
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != want {
			t.Errorf("%s is missing or stale: run go test ./uplink -run TestSeedCorpus -update-corpus", path)
		}
	}
}
