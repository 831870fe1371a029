package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateBarcodeGolden = flag.Bool("update-barcode", false, "rewrite testdata/barcode/*.golden")

// TestBarcodeCmd runs `depotd barcode ...` in-process and compares exit status, stdout and
// stderr with testdata/barcode/<case>.golden (rewrite with -update-barcode).
func TestBarcodeCmd(t *testing.T) {
	cases := []struct {
		name  string
		args  []string
		stdin string
	}{
		{"json-gs1-128-escaped-fnc1", []string{"decode", "--json", `]C1010950600013435217201225\x1d10ABC`}, ""},
		{"json-gs1-128-gs-byte", []string{"decode", "--json", "]C1010950600013435217201225\x1d10ABC"}, ""},
		{"json-bracketed", []string{"decode", "--json", "(01)09506000134352(17)201225(10)ABC"}, ""},
		{"json-digital-link", []string{"decode", "--json", "https://id.gs1.org/01/09506000134352/10/ABC?17=201225"}, ""},
		{"json-logistic-label", []string{"decode", "--json", `]C100106141412345678908020950600013435237120\x1d10LOT-7\x1d152712313103012500`}, ""},
		{"json-weight-ean13", []string{"decode", "--json", "2112345015002"}, ""},
		{"json-refused", []string{"decode", "--json", "]C10112312312312334"}, ""},
		{"text-logistic-label", []string{"decode", `]C100106141412345678908020950600013435237120\x1d10LOT-7\x1d152712313103012500`}, ""},
		{"text-refused", []string{"decode", `]C10109506000134352\x1d10ABC DEF`}, ""},
		{"text-command", []string{"decode", "CMD:VALIDATE"}, ""},
		{"stdin-lines", []string{"decode", "--json"}, "4006381333931\r\n\n]E001234565\nQTY:0\n"},
		{"config-override", []string{"decode", "--json", "--config", "testdata/barcode/depotd.yaml", "2812345012505"}, ""},
		{"config-override-prefix", []string{"decode", "--config", "testdata/barcode/depotd.yaml", "BADGE-7"}, ""},
		{"usage-no-subcommand", nil, ""},
		{"usage-unknown-subcommand", []string{"encode", "x"}, ""},
		{"usage-two-args", []string{"decode", "a", "b"}, ""},
		{"usage-empty-stdin", []string{"decode"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := barcodeCmd(context.Background(), tc.args, strings.NewReader(tc.stdin), &stdout, &stderr)
			got := fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", code, stdout.String(), stderr.String())
			path := filepath.Join("testdata", "barcode", tc.name+".golden")
			if *updateBarcodeGolden {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update-barcode)", err)
			}
			if got != string(want) {
				t.Errorf("depotd barcode %q:\n%s\nwant:\n%s", tc.args, got, want)
			}
		})
	}
}

// A config that cannot be loaded is a usage error (the message is loadConfig's).
func TestBarcodeCmdBadConfig(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := barcodeCmd(context.Background(), []string{"decode", "--config", filepath.Join(t.TempDir(), "missing.yaml"), "1"}, strings.NewReader(""), &stdout, &stderr)
	if code != 2 || stdout.Len() != 0 || !strings.Contains(stderr.String(), "missing.yaml") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}

// The command is reachable through depotd's dispatcher.
func TestBarcodeRegistered(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"barcode", "decode", "--json", "96385074"}, strings.NewReader(""), &stdout, &stderr)
	if code != 0 || !strings.HasPrefix(stdout.String(), `{"ok":true,"kind":"product","symbology":"ean-8"`) {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}
