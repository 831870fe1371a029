package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/depotd/depotd/devices"
	"github.com/depotd/depotd/devices/barcode"
	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/console"
	"github.com/depotd/depotd/edge/station"
)

func init() {
	register("stations", "scanner stations: depotd stations sheet --config PATH --out sheet.html", stationsCmd)
}

// checkStations checks the stations:, station_settings: and master: sections, and that
// every station's scanner and scale name a configured device of the right kind.
func (c *Config) checkStations(report func(key, msg string)) {
	cat := c.catalog() // nil when the locations are wrong, which check reports already
	station.CheckAll(c.Stations, cat, report)
	c.StationSettings.Check("station_settings", report)
	c.Master.Check("master", cat, report)
	kinds := map[string]devices.Kind{}
	for _, d := range c.Devices {
		kinds[d.Name] = d.Kind
	}
	for i, s := range c.Stations {
		p := fmt.Sprintf("stations[%d]", i)
		for _, f := range []struct {
			key, name string
			kind      devices.Kind
		}{{".scanner", s.Scanner, devices.KindScanner}, {".scale", s.Scale, devices.KindScale}} {
			if f.name == "" {
				continue
			}
			k, ok := kinds[f.name]
			switch {
			case !ok:
				report(p+f.key, fmt.Sprintf("no device named %q (see devices)", f.name))
			case k != f.kind:
				report(p+f.key, fmt.Sprintf("device %q is a %s, not a %s", f.name, k, f.kind))
			}
		}
	}
}

// stationOptions builds the station manager's options from the config. beeper looks a
// scanner's beeper up by device name (nil: no beeps).
func (c *Config) stationOptions(j *edge.Journal, dec *barcode.Decoder, beeper func(scanner string) devices.Beeper, log *slog.Logger) (station.Options, error) {
	return station.Options{
		Stations: c.Stations, Settings: c.StationSettings, Master: c.Master, Decoder: dec,
		Catalog: j.Catalog(), Journal: j, Documents: j, Beeper: beeper, Logger: log.With("component", "stations"),
	}, nil
}

// scannerBeeper beeps a scanner through the device supervisor, which is created after the
// stations (they are its sink), hence the pointer to where it will be.
type scannerBeeper struct {
	sup  **devices.Supervisor
	name string
}

func (b scannerBeeper) Beep(good bool) error { return (*b.sup).Beep(b.name, good) }

func stationsUsage(w io.Writer) {
	fmt.Fprintln(w, `Usage: depotd stations sheet [--config PATH] [--out FILE]

Writes the command sheet: the command, location and quantity barcodes of the config (with its
barcodes: prefixes) as a printable HTML page, Code 128 drawn as SVG. Without --out it goes to
stdout.`)
}

// stationsCmd implements `depotd stations sheet`. Exit status 0 on success, 1 when the
// sheet cannot be written, 2 on usage or config errors.
func stationsCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "sheet" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			stationsUsage(stdout)
			return 0
		}
		stationsUsage(stderr)
		return 2
	}
	fs := flag.NewFlagSet("depotd stations sheet", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "/etc/depotd/depotd.yaml", "config file")
	out := fs.String("out", "", "write the HTML page to this file (default stdout)")
	fs.Usage = func() { stationsUsage(stderr); fs.PrintDefaults() }
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "depotd stations sheet: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		fmt.Fprintf(stderr, "depotd stations sheet: %v\n", err)
		return 2
	}
	page, err := commandSheet(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "depotd stations sheet: %v\n", err)
		return 1
	}
	if *out == "" {
		if _, err := stdout.Write(page); err != nil {
			return 1
		}
		return 0
	}
	if err := writeFileAtomic(*out, page); err != nil {
		fmt.Fprintf(stderr, "depotd stations sheet: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s\n", *out)
	return 0
}

func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".sheet-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// sheetQuantities are the QTY: codes printed on the sheet.
var sheetQuantities = []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "12", "20", "24", "25", "48", "50", "100"}

type sheetCode struct {
	Label string
	Data  string
	SVG   template.HTML
}

type sheetSection struct {
	Title string
	Codes []sheetCode
}

// commandSheet renders the printable command sheet of cfg.
func commandSheet(cfg *Config) ([]byte, error) {
	p := cfg.Barcodes.Prefixes
	first := func(l barcode.PrefixList, def string) string {
		if len(l) > 0 {
			return l[0]
		}
		return def
	}
	cmd, qty, loc := first(p.Command, "CMD:"), first(p.Quantity, "QTY:"), first(p.Location, "LOC:")
	var sections []sheetSection
	add := func(sec *sheetSection, label, data string) error {
		svg, err := code128SVG(data)
		if err != nil {
			return fmt.Errorf("%s %q: %w", sec.Title, data, err)
		}
		sec.Codes = append(sec.Codes, sheetCode{Label: label, Data: data, SVG: svg})
		return nil
	}
	cmds := sheetSection{Title: "Commands"}
	for _, c := range []struct{ label, v string }{
		{"Validate", "VALIDATE"}, {"Undo last line", "UNDO"}, {"Cancel document", "CANCEL"},
		{"Adjustment removes stock", "REMOVE"},
	} {
		if err := add(&cmds, c.label, cmd+c.v); err != nil {
			return nil, err
		}
	}
	modes := sheetSection{Title: "Modes"}
	for _, m := range station.Modes {
		if err := add(&modes, strings.ToUpper(string(m[:1]))+string(m[1:]), cmd+strings.ToUpper(string(m))); err != nil {
			return nil, err
		}
	}
	sections = append(sections, cmds, modes)
	locs := sheetSection{Title: "Locations"}
	ls := append([]edge.Location(nil), cfg.Locations...)
	sort.Slice(ls, func(i, j int) bool { return ls[i].Name < ls[j].Name })
	for _, l := range ls {
		if l.Type == edge.LocVirtual {
			continue
		}
		data := l.Barcode
		if data == "" {
			data = loc + l.Name
		}
		if err := add(&locs, l.Name, data); err != nil {
			return nil, err
		}
	}
	if len(locs.Codes) > 0 {
		sections = append(sections, locs)
	}
	qs := sheetSection{Title: "Quantities"}
	for _, q := range sheetQuantities {
		if err := add(&qs, "× "+q, qty+q); err != nil {
			return nil, err
		}
	}
	sections = append(sections, qs)
	var b bytes.Buffer
	err := sheetTemplate.Execute(&b, struct {
		Depot    string
		Sections []sheetSection
	}{cfg.Depot.Name + " (" + cfg.Depot.ID + ")", sections})
	if err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// code128SVG draws a command-sheet barcode, 60 units high.
func code128SVG(data string) (template.HTML, error) { return console.Code128SVG(data, 60, "") }

var sheetTemplate = template.Must(template.New("sheet").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>depotd command sheet — {{.Depot}}</title>
<style>
body { font-family: sans-serif; margin: 1cm; }
h1 { font-size: 16pt; }
h2 { font-size: 13pt; border-bottom: 1px solid #000; break-after: avoid; }
.codes { display: flex; flex-wrap: wrap; gap: 6mm 10mm; }
figure { margin: 0; break-inside: avoid; text-align: center; }
figcaption { font-size: 10pt; }
code { font-size: 8pt; }
@media print { body { margin: 0; } }
</style>
</head>
<body>
<h1>Command sheet — {{.Depot}}</h1>
{{range .Sections}}<section>
<h2>{{.Title}}</h2>
<div class="codes">
{{range .Codes}}<figure>{{.SVG}}<figcaption>{{.Label}}<br><code>{{.Data}}</code></figcaption></figure>
{{end}}</div>
</section>
{{end}}</body>
</html>
`))
