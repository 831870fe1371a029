package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	firmwareconfig "github.com/depotd/depotd/firmware-config"
)

// code128Widths is the Code 128 symbol table of ISO/IEC 15417 (bar, space, bar, space,
// bar, space widths in modules; 106 is the stop pattern with its final bar), typed from the
// standard so that the sheet test does not trust the encoder it checks.
var code128Widths = strings.Fields(`212222 222122 222221 121223 121322 131222 122213 122312 132212 221213
221312 231212 112232 122132 122231 113222 123122 123221 223211 221132 221231 213212 223112 312131
311222 321122 321221 312212 322112 322211 212123 212321 232121 111323 131123 131321 112313 132113
132311 211313 231113 231311 112133 112331 132131 113123 113321 133121 313121 211331 231131 213113
213311 213131 311123 311321 331121 312113 312311 332111 314111 221411 431111 111224 111422 121124
121421 141122 141221 112214 112412 122114 122411 142112 142211 241211 221114 413111 241112 134111
111242 121142 121241 114212 124112 124211 411212 421112 421211 212141 214121 412121 111143 111341
131141 114113 114311 411113 411311 113141 114131 311141 411131 211412 211214 211232 2331112`)

// decodeCode128 reads the bar and space widths of one symbol back into its text, checking
// start, check symbol and stop. Code sets A, B and C are handled (no FNC characters: the
// sheet prints none).
func decodeCode128(widths []int) (string, error) {
	byPattern := map[string]int{}
	for v, w := range code128Widths {
		byPattern[w] = v
	}
	var vals []int
	for len(widths) > 0 {
		n := 6
		if len(widths) == 7 {
			n = 7
		}
		if len(widths) < n {
			return "", fmt.Errorf("%d widths left over", len(widths))
		}
		var sb strings.Builder
		for _, w := range widths[:n] {
			sb.WriteString(strconv.Itoa(w))
		}
		v, ok := byPattern[sb.String()]
		if !ok {
			return "", fmt.Errorf("no symbol has widths %s", sb.String())
		}
		vals = append(vals, v)
		widths = widths[n:]
	}
	if len(vals) < 3 || vals[len(vals)-1] != 106 {
		return "", fmt.Errorf("no stop pattern")
	}
	sum := vals[0]
	for i := 1; i < len(vals)-2; i++ {
		sum += i * vals[i]
	}
	if sum%103 != vals[len(vals)-2] {
		return "", fmt.Errorf("check symbol %d, computed %d", vals[len(vals)-2], sum%103)
	}
	set := map[int]byte{103: 'A', 104: 'B', 105: 'C'}[vals[0]]
	if set == 0 {
		return "", fmt.Errorf("bad start symbol %d", vals[0])
	}
	var out strings.Builder
	for _, v := range vals[1 : len(vals)-2] {
		switch {
		case set == 'C' && v < 100:
			out.WriteString(strconv.Itoa(v/10) + strconv.Itoa(v%10))
		case v == 99:
			set = 'C'
		case v == 100 && set != 'B':
			set = 'B'
		case v == 101 && set != 'A':
			set = 'A'
		case set == 'B' && v < 96:
			out.WriteByte(byte(v + 32))
		case set == 'A' && v < 64:
			out.WriteByte(byte(v + 32))
		case set == 'A' && v < 96:
			out.WriteByte(byte(v - 64))
		default:
			return "", fmt.Errorf("unsupported symbol %d in set %c", v, set)
		}
	}
	return out.String(), nil
}

var (
	svgRE  = regexp.MustCompile(`<svg [^>]*width="(\d+)"[^>]*aria-label="([^"]*)">(.*?)</svg>`)
	rectRE = regexp.MustCompile(`<rect x="(\d+)" y="0" width="(\d+)" height="\d+" fill="#000"/>`)
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
		rects := rectRE.FindAllStringSubmatch(m[3], -1)
		const module = 2
		var widths []int
		end := 0
		for i, r := range rects {
			x, _ := strconv.Atoi(r[1])
			w, _ := strconv.Atoi(r[2])
			if x%module != 0 || w%module != 0 {
				t.Fatalf("%s: bar off the module grid: x=%d w=%d", label, x, w)
			}
			if i == 0 {
				if x < 10*module {
					t.Errorf("%s: quiet zone %d modules", label, x/module)
				}
			} else {
				widths = append(widths, (x-end)/module)
			}
			widths = append(widths, w/module)
			end = x + w
		}
		if total-end < 10*module {
			t.Errorf("%s: trailing quiet zone %d modules", label, (total-end)/module)
		}
		got, err := decodeCode128(widths)
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
