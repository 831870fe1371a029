package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/depotd/depotd/devices"
	"github.com/depotd/depotd/devices/barcode"
	"github.com/depotd/depotd/devices/drivers"
)

func init() {
	register("devices", "list candidate scanner and scale devices, probe one, or watch the configured ones: depotd devices list|probe|watch", devicesCmd)
}

const devicesUsage = `usage:
  depotd devices list [--json]
      serial, input and hidraw devices with their by-id names and USB vendor/product ids
  depotd devices probe --kind scanner --port PATH [--layout us|de|fr] [--suffix auto|cr|lf|crlf|etx|none]
                       [--baud N --data-bits N --parity none|even|odd --stop-bits N] [--timeout 60s]
      wait for one scan and print it (raw and decoded)
  depotd devices probe --kind scale --protocol PROTO --port PATH [--baud N ...]
      read one stable weight and print it as JSON
  depotd devices watch [--config PATH]
      run the config's devices (reconnects included) and print each scan, weight and
      state change as a JSON line until interrupted; nothing is journalled
`

func devicesCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, devicesUsage)
		return 2
	}
	switch args[0] {
	case "list":
		return devicesList(args[1:], stdout, stderr)
	case "probe":
		if kindArg(args[1:]) == string(devices.KindScale) {
			return probeScale(ctx, args[1:], stdout, stderr) // devices_scale.go
		}
		return probeScanner(ctx, args[1:], stdout, stderr)
	case "watch":
		return devicesWatch(ctx, args[1:], stdout, stderr) // devices_watch.go
	case "-h", "--help", "help":
		fmt.Fprint(stdout, devicesUsage)
		return 0
	}
	fmt.Fprintf(stderr, "depotd devices: unknown subcommand %q\n%s", args[0], devicesUsage)
	return 2
}

// kindArg finds --kind's value without parsing the rest: the scale probe has flags of
// its own.
func kindArg(args []string) string {
	for i, a := range args {
		for _, p := range []string{"--kind=", "-kind="} {
			if v, ok := strings.CutPrefix(a, p); ok {
				return v
			}
		}
		if (a == "--kind" || a == "-kind") && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// candidate is one device node an installer might put in `port:`.
type candidate struct {
	Class   string `json:"class"` // serial, input, hidraw
	Path    string `json:"path"`  // the stable by-id path when there is one
	Device  string `json:"device"`
	Vendor  string `json:"vendor,omitempty"` // USB vendor id, hex
	Product string `json:"product,omitempty"`
	Name    string `json:"name,omitempty"`
}

func devicesList(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("depotd devices list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return 2
	}
	cands := listCandidates("/dev", "/sys")
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if cands == nil {
			cands = []candidate{}
		}
		if err := enc.Encode(cands); err != nil {
			fmt.Fprintln(stderr, "depotd devices list:", err)
			return 1
		}
		return 0
	}
	if len(cands) == 0 {
		fmt.Fprintln(stdout, "none found (looked at /dev/serial/by-id, /dev/ttyUSB*, /dev/ttyACM*, /dev/input/by-id, /dev/hidraw*)")
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLASS\tPORT\tDEVICE\tVID:PID\tNAME")
	for _, c := range cands {
		id := ""
		if c.Vendor != "" {
			id = c.Vendor + ":" + c.Product
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Class, c.Path, c.Device, id, c.Name)
	}
	tw.Flush()
	fmt.Fprintln(stdout, "\nUse the by-id PORT in config: it survives replugging and reboots. Keyboard scanners are the input entries ending in -event-kbd.")
	return 0
}

// listCandidates scans dev and sys (roots, so tests can give a fake tree). Devices
// reachable by a by-id link are listed once, under that link.
func listCandidates(dev, sys string) []candidate {
	var out []candidate
	seen := map[string]bool{}
	byID := func(class, dir string, keep func(name string) bool, ids func(node string) (string, string, string)) {
		links, _ := filepath.Glob(filepath.Join(dev, dir, "by-id", "*"))
		sort.Strings(links)
		for _, l := range links {
			if !keep(filepath.Base(l)) {
				continue
			}
			target, err := filepath.EvalSymlinks(l)
			if err != nil {
				continue // a dangling link: the device just went
			}
			seen[target] = true
			v, p, n := ids(filepath.Base(target))
			out = append(out, candidate{Class: class, Path: l, Device: target, Vendor: v, Product: p, Name: n})
		}
	}
	ttyIDs := func(node string) (string, string, string) {
		return usbIDs(filepath.Join(sys, "class", "tty", node, "device"))
	}
	byID("serial", "serial", func(string) bool { return true }, ttyIDs)
	// Only keyboards: a scanner in keyboard mode shows up as -event-kbd; mice, joysticks
	// and the "-if01-event-kbd" of composite devices are listed too when they are kbd.
	byID("input", "input", func(n string) bool { return strings.HasSuffix(n, "-event-kbd") }, func(node string) (string, string, string) {
		base := filepath.Join(sys, "class", "input", node, "device")
		name, _ := readTrim(filepath.Join(base, "name"))
		v, _ := readTrim(filepath.Join(base, "id", "vendor"))
		p, _ := readTrim(filepath.Join(base, "id", "product"))
		return v, p, name
	})
	var nodes []string
	for _, pat := range []string{"ttyUSB*", "ttyACM*"} {
		m, _ := filepath.Glob(filepath.Join(dev, pat))
		nodes = append(nodes, m...)
	}
	sort.Strings(nodes)
	for _, n := range nodes {
		if !seen[n] {
			v, p, name := ttyIDs(filepath.Base(n))
			out = append(out, candidate{Class: "serial", Path: n, Device: n, Vendor: v, Product: p, Name: name})
		}
	}
	hid, _ := filepath.Glob(filepath.Join(dev, "hidraw*"))
	sort.Strings(hid)
	for _, h := range hid {
		v, p, name := hidrawIDs(filepath.Join(sys, "class", "hidraw", filepath.Base(h), "device", "uevent"))
		out = append(out, candidate{Class: "hidraw", Path: h, Device: h, Vendor: v, Product: p, Name: name})
	}
	return out
}

// usbIDs walks up from a tty's device directory (the USB interface) to the USB device,
// the first ancestor with idVendor.
func usbIDs(devDir string) (vendor, product, name string) {
	d, err := filepath.EvalSymlinks(devDir)
	if err != nil {
		return "", "", ""
	}
	for range 5 {
		if v, err := readTrim(filepath.Join(d, "idVendor")); err == nil {
			p, _ := readTrim(filepath.Join(d, "idProduct"))
			m, _ := readTrim(filepath.Join(d, "manufacturer"))
			pr, _ := readTrim(filepath.Join(d, "product"))
			return v, p, strings.TrimSpace(m + " " + pr)
		}
		d = filepath.Dir(d)
	}
	return "", "", ""
}

// hidrawIDs reads HID_ID=0003:00000EB8:0000F000 and HID_NAME from a hidraw uevent file.
func hidrawIDs(uevent string) (vendor, product, name string) {
	b, err := os.ReadFile(uevent)
	if err != nil {
		return "", "", ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "HID_ID":
			parts := strings.Split(v, ":")
			if len(parts) == 3 && len(parts[1]) >= 4 && len(parts[2]) >= 4 {
				vendor = strings.ToLower(parts[1][len(parts[1])-4:])
				product = strings.ToLower(parts[2][len(parts[2])-4:])
			}
		case "HID_NAME":
			name = v
		}
	}
	return vendor, product, name
}

func readTrim(path string) (string, error) {
	b, err := os.ReadFile(path)
	return strings.TrimSpace(string(b)), err
}

// probeSink keeps the first scan; refused frames are shown as they come, so an installer
// sees line noise or a wrong layout at once.
type probeSink struct {
	stderr io.Writer
	once   sync.Once
	got    chan devices.Scan

	mu sync.Mutex // serialises writes to stderr
}

func (s *probeSink) Scan(v devices.Scan) { s.once.Do(func() { s.got <- v }) }
func (s *probeSink) BadScan(b devices.BadScan) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.stderr, "refused: %s\n", b.Reason)
}
func (s *probeSink) Weight(devices.Weight) {}
func (s *probeSink) State(st devices.DeviceState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st.State == devices.StateConnected {
		fmt.Fprintln(s.stderr, "connected; scan a barcode")
	}
}

func probeScanner(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("depotd devices probe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c devices.Config
	kind := fs.String("kind", "scanner", "scanner or scale")
	fs.StringVar(&c.Port, "port", "", "device path: /dev/serial/by-id/..., /dev/input/by-id/...-event-kbd")
	fs.StringVar(&c.Protocol, "protocol", "", "scanner transport when the path does not tell: serial or evdev")
	fs.IntVar(&c.Baud, "baud", 0, "serial baud rate (default 9600)")
	fs.IntVar(&c.DataBits, "data-bits", 0, "7 or 8 (default 8)")
	fs.StringVar(&c.Parity, "parity", "", "none, even or odd (default none)")
	fs.IntVar(&c.StopBits, "stop-bits", 0, "1 or 2 (default 1)")
	fs.StringVar(&c.Suffix, "suffix", "", "serial framing: auto, cr, lf, crlf, etx, none (default auto)")
	fs.StringVar(&c.Prefix, "prefix", "", `prefix the scanner sends before each scan (Go escapes, e.g. \x02)`)
	fs.IntVar(&c.MaxLength, "max-length", 0, "longest scan accepted (default 4096)")
	fs.DurationVar(&c.CharTimeout, "char-timeout", 0, "end of scan after this silence, with --suffix none (default 100ms)")
	fs.StringVar(&c.Layout, "layout", "", "keyboard layout the scanner types in: us, de, fr (default us)")
	fs.StringVar(&c.GSSubstitute, "gs-substitute", "", "character a keyboard scanner sends for GS (FNC1)")
	timeout := fs.Duration("timeout", 60*time.Second, "give up after this long without a scan")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || *kind != string(devices.KindScanner) {
		fmt.Fprint(stderr, devicesUsage)
		return 2
	}
	if c.Port == "" {
		fmt.Fprintln(stderr, "depotd devices probe: --port is required: the scanner's device path (/dev/serial/by-id/..., /dev/input/by-id/...-event-kbd)")
		return 2
	}
	c.Name, c.Kind = "probe", devices.KindScanner
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	drv, err := drivers.New(c, log)
	if err != nil {
		fmt.Fprintln(stderr, "depotd devices probe:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	sink := &probeSink{stderr: stderr, got: make(chan devices.Scan, 1)}
	runErr := make(chan error, 1)
	go func() { runErr <- drv.Run(ctx, sink) }()

	var scan devices.Scan
	select {
	case scan = <-sink.got:
		cancel()
		<-runErr
	case err := <-runErr:
		if err == nil {
			err = ctx.Err()
		}
		fmt.Fprintln(stderr, "depotd devices probe:", err)
		return 1
	case <-ctx.Done():
		<-runErr
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			fmt.Fprintf(stderr, "depotd devices probe: no scan within %s\n", *timeout)
		}
		return 1
	}
	printScan(stdout, scan)
	return 0
}

// printScan shows a scan for a person: GS as \x1d, the bytes in hex, and what the
// barcode decoder makes of it.
func printScan(w io.Writer, s devices.Scan) {
	fmt.Fprintf(w, "aim:     %s\n", orNone(s.AIM))
	fmt.Fprintf(w, "data:    %s\n", showGS(s.Data))
	fmt.Fprintf(w, "hex:     %s\n", hex.EncodeToString(s.Raw))
	dec, err := barcode.NewDecoder(barcode.DefaultConfig())
	if err != nil {
		fmt.Fprintf(w, "decoded: (barcode decoder: %v)\n", err)
		return
	}
	res, err := dec.Decode(s.Data, s.AIM)
	if err != nil {
		fmt.Fprintf(w, "decoded: refused: %v\n", err)
		return
	}
	j, _ := json.Marshal(res)
	fmt.Fprintf(w, "decoded: %s\n", j)
}

func showGS(b []byte) string {
	return strings.ReplaceAll(string(b), "\x1d", `\x1d`)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
