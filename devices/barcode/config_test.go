package barcode_test

import (
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/depotd/depotd/devices/barcode"
)

func TestDefaultConfigIsValid(t *testing.T) {
	cfg := barcode.DefaultConfig()
	cfg.Check("barcodes", func(key, msg string) { t.Errorf("%s: %s", key, msg) })
	if got := cfg.Prefixes.Command; !reflect.DeepEqual(got, barcode.PrefixList{"CMD:", "O-CMD.", "O-BTN."}) {
		t.Errorf("command prefixes %q", got)
	}
	if cfg.Patterns[0].Pattern != "21.....{NNDDD}" || cfg.Patterns[1].Pattern != "23.....{NNNDD}" {
		t.Errorf("default patterns %+v", cfg.Patterns)
	}
}

func decodeYAML(t *testing.T, src string) barcode.Config {
	t.Helper()
	cfg := barcode.DefaultConfig()
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("yaml: %v", err)
	}
	return cfg
}

func TestConfigYAML(t *testing.T) {
	cfg := decodeYAML(t, `
patterns:
  - {type: weight, pattern: "28.....{NNDDD}", unit: kg}
prefixes:
  operator: "BADGE-"
  command: ["CMD:", "O-CMD."]
fnc1_substitute: "#"
strict_pairing: true
max_length: 512
`)
	want := barcode.Config{
		Patterns: []barcode.Pattern{{Type: "weight", Pattern: "28.....{NNDDD}", Unit: "kg"}},
		Prefixes: barcode.Prefixes{
			Operator:  barcode.PrefixList{"BADGE-"},
			Command:   barcode.PrefixList{"CMD:", "O-CMD."},
			Quantity:  barcode.PrefixList{"QTY:"},
			Reference: barcode.PrefixList{"REF:"},
			Location:  barcode.PrefixList{"LOC:"},
		},
		FNC1Substitute: "#",
		StrictPairing:  true,
		MaxLength:      512,
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got %+v\nwant %+v", cfg, want)
	}
	cfg.Check("barcodes", func(key, msg string) { t.Errorf("%s: %s", key, msg) })
	d := mustDecoder(t, cfg)
	r, err := d.Decode([]byte("BADGE-42"), "")
	if err != nil || r.Kind != barcode.KindOperator || r.Value != "42" {
		t.Errorf("BADGE-42: %+v %v", r, err)
	}
	// The default weight rule was replaced: 21... is now a plain product.
	r, err = d.Decode([]byte("2112345015002"), "")
	if err != nil || r.Kind != barcode.KindProduct {
		t.Errorf("21 prefix: %s %v", r.Kind, err)
	}
}

func TestConfigUnknownKey(t *testing.T) {
	cfg := barcode.DefaultConfig()
	dec := yaml.NewDecoder(strings.NewReader("paterns: []\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err == nil {
		t.Error("misspelt key accepted")
	}
}

func TestConfigCheckReportsEveryProblem(t *testing.T) {
	cfg := barcode.DefaultConfig()
	cfg.Patterns = append(cfg.Patterns, barcode.Pattern{Type: "weight", Pattern: "{}"})
	cfg.Prefixes.Operator = barcode.PrefixList{"", "CMD:"}
	cfg.Prefixes.Location = barcode.PrefixList{"414", "]C1", "L\x01"}
	cfg.FNC1Substitute = "A"
	cfg.MaxLength = -1
	var got []string
	cfg.Check("barcodes", func(key, msg string) { got = append(got, key) })
	want := []string{
		"barcodes.patterns[2].pattern",
		"barcodes.prefixes.operator[0]",
		"barcodes.prefixes.command[0]", // CMD: already used for operator
		"barcodes.prefixes.location[0]",
		"barcodes.prefixes.location[1]",
		"barcodes.prefixes.location[2]",
		"barcodes.fnc1_substitute",
		"barcodes.max_length",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("reported %q\nwant     %q", got, want)
	}
}

func TestApplyDefaults(t *testing.T) {
	var cfg barcode.Config
	if err := yaml.Unmarshal([]byte("patterns: []\nprefixes: {operator: BADGE-}\n"), &cfg); err != nil {
		t.Fatal(err)
	}
	cfg.ApplyDefaults()
	if cfg.Patterns == nil || len(cfg.Patterns) != 0 {
		t.Errorf("explicit empty patterns became %+v", cfg.Patterns)
	}
	def := barcode.DefaultConfig()
	if !reflect.DeepEqual(cfg.Prefixes.Operator, barcode.PrefixList{"BADGE-"}) || !reflect.DeepEqual(cfg.Prefixes.Command, def.Prefixes.Command) {
		t.Errorf("prefixes %+v", cfg.Prefixes)
	}
	var empty barcode.Config
	empty.ApplyDefaults()
	if !reflect.DeepEqual(empty, def) {
		t.Errorf("zero config with defaults = %+v, want %+v", empty, def)
	}
}
