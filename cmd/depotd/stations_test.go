package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/depotd/depotd/edge/console/code128test"
	firmwareconfig "github.com/depotd/depotd/firmware-config"
)

var (
	svgRE = regexp.MustCompile(`<svg [^>]*width="(\d+)"[^>]*aria-label="([^"]*)">(.*?)</svg>`)
)

// Every barcode on the sheet decodes, from its SVG rectangles alone, to the text it is
// labelled with, with a quiet zone of at least 10 modules on each side.
func TestCommandSheetBarsDecode(t *testing.T) {
	cfg, err := parseConfig(bytes.NewReader(firmwareconfig.DemoConfig))
	if err != nil {
		t.Fatal(err)
	}
	page, err := commandSheet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	svgs := svgRE.FindAllStringSubmatch(string(page), -1)
	seen := map[string]bool{}
	for _, m := range svgs {
		total, _ := strconv.Atoi(m[1])
		label := strings.NewReplacer("&#43;", "+", "&amp;", "&", "&#34;", `"`, "&#39;", "'").Replace(m[2])
		const module = 2
		bars, err := code128test.ReadSVG(m[3], module)
		if err != nil {
			t.Fatalf("%s: %v", label, err)
		}
		if bars.Start < 10*module {
			t.Errorf("%s: quiet zone %d modules", label, bars.Start/module)
		}
		if total-bars.End < 10*module {
			t.Errorf("%s: trailing quiet zone %d modules", label, (total-bars.End)/module)
		}
		got, err := code128test.Decode(bars.Widths)
		if err != nil {
			t.Fatalf("%s: %v", label, err)
		}
		if got != label {
			t.Errorf("bars read %q, label says %q", got, label)
		}
		seen[got] = true
	}
	for _, want := range []string{"CMD:VALIDATE", "CMD:UNDO", "CMD:CANCEL", "CMD:RECEIVE", "CMD:ADJUST", "CMD:RELEASE",
		"LOC-STOCK", "LOC:Transit", "QTY:1", "QTY:12", "QTY:100"} {
		if !seen[want] {
			t.Errorf("sheet lacks %q (has %d codes)", want, len(svgs))
		}
	}
	if seen["LOC:Partners/Vendors"] {
		t.Error("virtual locations must not be on the sheet")
	}
}

func TestStationsSheetCommand(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "depotd.yaml")
	if err := os.WriteFile(cfgPath, firmwareconfig.DemoConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "sheet.html")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"stations", "sheet", "--config", cfgPath, "--out", out}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	page, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(page, []byte("<!doctype html>")) || !bytes.Contains(page, []byte("Demo depot (DEMO)")) {
		t.Fatalf("page: %.200s", page)
	}
	for _, args := range [][]string{{"stations"}, {"stations", "print"}, {"stations", "sheet", "extra"},
		{"stations", "sheet", "--config", filepath.Join(dir, "missing.yaml")}} {
		stderr.Reset()
		if code := run(context.Background(), args, nil, &stdout, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, stderr.String())
		}
	}
}

// Stations must name configured devices of the right kind; every problem has its key.
func TestStationsConfigChecks(t *testing.T) {
	base := string(firmwareconfig.DemoConfig)
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown scanner", strings.Replace(base, "scanner: scanner1,", "scanner: nope,", 1),
			[]string{`stations[0].scanner: no device named "nope"`}},
		{"scale as scanner", strings.Replace(base, "scanner: scanner1,", "scanner: scale1,", 1),
			[]string{`stations[0].scanner: device "scale1" is a scale, not a scanner`}},
		{"bad mode and location", strings.Replace(base, "mode: receive, to: WH/Input", "mode: sell, to: Nowhere", 1),
			[]string{`stations[0].mode: unknown mode "sell"`, `stations[0].to: unknown location "Nowhere"`}},
		{"settings", strings.Replace(base, "idle_logout: 30m", "idle_logout: 1s\n  weight_tolerance: 0.6", 1),
			[]string{"station_settings.idle_logout", "station_settings.weight_tolerance"}},
		{"master", strings.Replace(base, "{badge: sam, name: Sam, role: supervisor}", "{badge: sam, name: Sam, role: boss}", 1),
			[]string{`master.operators[1].role: unknown role "boss"`}},
		{"duplicate barcode", strings.Replace(base, `barcodes: ["4012345000016"]`, `barcodes: ["4006381333931"]`, 1),
			[]string{`master.items[1].barcodes[0]: barcode "4006381333931" already used by master.items[0].barcodes[0]`}},
		{"unknown key", strings.Replace(base, "mode: receive,", "mode: receive, scanners: x,", 1),
			[]string{"stations[0].scanners: unknown key"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseConfig(strings.NewReader(c.yaml))
			if err == nil {
				t.Fatal("config accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}
