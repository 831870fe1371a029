package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/depotd/depotd/devices/barcode"
)

func init() {
	register("barcode", "decode a barcode as a station would: depotd barcode decode [--json] [DATA]", barcodeCmd)
}

// barcodeCmd implements `depotd barcode decode [--json] [--config PATH] [DATA]`. DATA is
// the scanned text; without it every line of stdin is decoded. The four characters \x1d
// and the GS byte both mean FNC1, and a leading AIM identifier (]C1, ]E0, ...) is honoured.
// Exit status: 0 when every scan decoded, 1 when one was refused, 2 on usage errors.
func barcodeCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "decode" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			barcodeUsage(stdout)
			return 0
		}
		barcodeUsage(stderr)
		return 2
	}
	fs := flag.NewFlagSet("depotd barcode decode", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print one JSON object per scan")
	configPath := fs.String("config", "", "use the barcodes: section of this config instead of the defaults")
	fs.Usage = func() { barcodeUsage(stderr); fs.PrintDefaults() }
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 1 {
		fmt.Fprintln(stderr, "depotd barcode decode: give one DATA argument (quote it), or none to read stdin")
		return 2
	}

	cfg := barcode.DefaultConfig()
	if *configPath != "" {
		c, err := loadConfig(*configPath)
		if err != nil {
			fmt.Fprintf(stderr, "depotd barcode decode: %v\n", err)
			return 2
		}
		cfg = c.Barcodes
	}
	dec, err := barcode.NewDecoder(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "depotd barcode decode: %v\n", err)
		return 2
	}

	var scans [][]byte
	if fs.NArg() == 1 {
		scans = append(scans, unescapeGS(fs.Arg(0)))
	} else {
		sc := bufio.NewScanner(stdin)
		sc.Buffer(make([]byte, 0, 64*1024), barcode.DefaultMaxLength*4+2)
		for sc.Scan() {
			line := bytes.TrimSuffix(sc.Bytes(), []byte("\r"))
			if len(line) == 0 {
				continue
			}
			scans = append(scans, unescapeGS(string(line)))
		}
		if err := sc.Err(); err != nil {
			fmt.Fprintf(stderr, "depotd barcode decode: read stdin: %v\n", err)
			return 2
		}
		if len(scans) == 0 {
			fmt.Fprintln(stderr, "depotd barcode decode: no data on stdin")
			return 2
		}
	}

	status := 0
	for _, scan := range scans {
		if ctx.Err() != nil {
			return 1
		}
		res, err := dec.Decode(scan, "")
		if err != nil {
			status = 1
		}
		if *asJSON {
			printJSON(stdout, res, err)
		} else {
			printText(stdout, scan, res, err)
		}
	}
	return status
}

func barcodeUsage(w io.Writer) {
	fmt.Fprintln(w, `Usage: depotd barcode decode [--json] [--config PATH] [DATA]

Decodes DATA (or each line of stdin) as a station would: GS1-128, GS1 DataMatrix/QR/DataBar
element strings, bracketed (01)...(10)... text, GS1 Digital Link URIs, EAN/UPC/ITF-14 with
check digits, weight/price-embedded EAN-13, and the OP:/CMD:/QTY:/REF:/LOC: station codes.
\x1d or a GS byte is FNC1; a leading AIM identifier such as ]C1 is honoured.
Exit status 1 when a scan is refused.`)
}

// unescapeGS turns the text \x1d (either case) into the GS byte, so FNC1 can be typed.
func unescapeGS(s string) []byte {
	s = strings.ReplaceAll(s, `\x1d`, "\x1d")
	s = strings.ReplaceAll(s, `\x1D`, "\x1d")
	return []byte(s)
}

func printJSON(w io.Writer, res barcode.Result, err error) {
	var out any
	if err != nil {
		var be *barcode.Error
		msg, pos := err.Error(), 0
		if errors.As(err, &be) {
			msg, pos = be.Msg, be.Pos
		}
		out = struct {
			OK       bool   `json:"ok"`
			Error    string `json:"error"`
			Position int    `json:"position"`
		}{false, msg, pos}
	} else {
		out = struct {
			OK bool `json:"ok"`
			*barcode.Result
		}{true, &res}
	}
	b, _ := json.Marshal(out) // plain strings and slices: cannot fail
	fmt.Fprintf(w, "%s\n", b)
}

func printText(w io.Writer, scan []byte, res barcode.Result, err error) {
	if err != nil {
		var be *barcode.Error
		if errors.As(err, &be) {
			shown := strings.ReplaceAll(string(scan), "\x1d", "␝")
			caret := len([]rune(strings.ReplaceAll(string(scan[:min(be.Pos, len(scan))]), "\x1d", "␝")))
			fmt.Fprintf(w, "refused: %s\n  %s\n  %s^ byte %d\n", be.Msg, shown, strings.Repeat(" ", caret), be.Pos)
			return
		}
		fmt.Fprintf(w, "refused: %v\n", err)
		return
	}
	field := func(name, v string) {
		if v != "" {
			fmt.Fprintf(w, "%-16s %s\n", name+":", v)
		}
	}
	field("kind", string(res.Kind))
	field("symbology", res.Symbology)
	field("gtin", res.GTIN)
	field("content gtin", res.ContentGTIN)
	field("sscc", res.SSCC)
	field("lot", res.Lot)
	field("serial", res.Serial)
	field("expiry", res.Expiry)
	field("best before", res.BestBefore)
	field("produced on", res.ProducedOn)
	field("packed on", res.PackedOn)
	field("count", res.Count)
	field("weight kg", res.WeightKg)
	field("gross weight kg", res.GrossWeightKg)
	field("price", res.Price)
	field("currency", res.Currency)
	field("base code", res.BaseCode)
	field("add-on", res.AddOn)
	field("prefix", res.Prefix)
	field("value", res.Value)
	field("link stem", res.DigitalLinkStem)
	for _, a := range res.AIs {
		fmt.Fprintf(w, "  %-6s %-30s %s\n", "("+a.AI+")", a.Value, a.Title())
	}
}
