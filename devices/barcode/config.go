package barcode

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// Config is the `barcodes:` section of depotd's config. Start from DefaultConfig and
// override: a `patterns:` list replaces the default list as a whole.
type Config struct {
	// Patterns are the embedded-value rules for restricted-circulation EAN-13 (prefixes
	// 20-29), tried in order; the first match wins. Default: weight "21.....{NNDDD}" in kg
	// and price "23.....{NNNDD}", as Odoo ships them.
	Patterns []Pattern `yaml:"patterns"`
	// Prefixes classify depot-internal barcodes (badges, command sheets, bin labels).
	Prefixes Prefixes `yaml:"prefixes"`
	// FNC1Substitute is a string some scanners send instead of GS for FNC1 (e.g. "#" or
	// "Alt029" with keyboard wedges). Empty (default): only GS means FNC1. It is applied
	// to GS1 data only, never to prefixed internal codes.
	FNC1Substitute string `yaml:"fnc1_substitute,omitempty"`
	// StrictPairing is kept so that existing configs still load; it has no effect.
	//
	// Deprecated: every mandatory association (req=) and exclusion (ex=) of the GS1
	// Barcode Syntax Dictionary is enforced on every scan (issue #13).
	StrictPairing bool `yaml:"strict_pairing,omitempty"`
	// MaxLength bounds a scan in bytes; 0 means the default, 8192 (above the capacity of
	// any GS1 carrier: a QR code holds at most 7089 characters).
	MaxLength int `yaml:"max_length,omitempty"`
}

// Prefixes lists, per kind, the prefixes that mark a depot-internal barcode. The value
// after the prefix is the payload (badge id, command, quantity, ...).
type Prefixes struct {
	Operator  PrefixList `yaml:"operator"`
	Command   PrefixList `yaml:"command"`
	Quantity  PrefixList `yaml:"quantity"`
	Reference PrefixList `yaml:"reference"`
	Location  PrefixList `yaml:"location"`
}

// PrefixList is one or more prefixes; YAML accepts a single string or a list.
type PrefixList []string

// UnmarshalYAML accepts `operator: "OP:"` as well as `command: ["CMD:", "O-CMD."]`.
func (l *PrefixList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		var s string
		if err := n.Decode(&s); err != nil {
			return err
		}
		*l = PrefixList{s}
		return nil
	}
	var list []string
	if err := n.Decode(&list); err != nil {
		return err
	}
	*l = list
	return nil
}

// DefaultMaxLength is the scan length bound when Config.MaxLength is 0.
const DefaultMaxLength = 8192

// DefaultConfig returns the documented defaults: Odoo's weight and price patterns and the
// station prefixes OP:, CMD: (plus Odoo's O-CMD. and O-BTN.), QTY:, REF:, LOC:.
func DefaultConfig() Config {
	return Config{
		Patterns: []Pattern{
			{Type: "weight", Pattern: "21.....{NNDDD}", Unit: "kg", Encoding: "ean13"},
			{Type: "price", Pattern: "23.....{NNNDD}", Encoding: "ean13"},
		},
		Prefixes: Prefixes{
			Operator:  PrefixList{"OP:"},
			Command:   PrefixList{"CMD:", "O-CMD.", "O-BTN."},
			Quantity:  PrefixList{"QTY:"},
			Reference: PrefixList{"REF:"},
			Location:  PrefixList{"LOC:"},
		},
	}
}

// Check reports every problem with the section; path is its key path, e.g. "barcodes".
func (c *Config) Check(path string, report func(key, msg string)) {
	for i, p := range c.Patterns {
		key := fmt.Sprintf("%s.patterns[%d]", path, i)
		switch p.Type {
		case "weight":
			switch p.Unit {
			case "", "kg", "g", "lb":
			default:
				report(key+".unit", fmt.Sprintf("unknown weight unit %q (kg, g or lb)", p.Unit))
			}
		case "price":
			if p.Unit != "" {
				report(key+".unit", "a price pattern takes no unit")
			}
		case "":
			report(key+".type", "required (weight or price)")
		default:
			report(key+".type", fmt.Sprintf("unknown type %q (weight or price)", p.Type))
		}
		switch p.Encoding {
		case "", "ean13", "any":
		default:
			report(key+".encoding", fmt.Sprintf("unknown encoding %q (ean13 or any)", p.Encoding))
		}
		if _, err := p.compile(); err != nil {
			report(key+".pattern", err.Error())
		}
	}
	seen := map[string]string{}
	for _, k := range c.Prefixes.kinds() {
		for i, pfx := range k.list {
			key := fmt.Sprintf("%s.prefixes.%s[%d]", path, k.name, i)
			if pfx == "" {
				report(key, "empty prefix")
				continue
			}
			if strings.IndexFunc(pfx, func(r rune) bool { return r < 0x20 || r == 0x7F }) >= 0 {
				report(key, "prefix holds a control character")
			}
			if strings.HasPrefix(pfx, "]") || strings.HasPrefix(pfx, "(") || allDigits(pfx) {
				report(key, fmt.Sprintf("prefix %q would capture AIM identifiers, GS1 or EAN data", pfx))
			}
			if other, dup := seen[pfx]; dup {
				report(key, fmt.Sprintf("prefix %q already used for %s", pfx, other))
			}
			seen[pfx] = k.name
		}
	}
	if sub := c.FNC1Substitute; len(sub) == 1 && sub != "#" && (inCSet82(sub[0]) || isDigit(sub[0])) {
		// '#' is outside character set 82, so it cannot occur in X-type AI values.
		report(path+".fnc1_substitute", fmt.Sprintf("%q is a valid AI data character; use '#' or a longer marker such as \"Alt029\"", sub))
	}
	if c.MaxLength < 0 || c.MaxLength > 1<<20 {
		report(path+".max_length", "must be between 0 (default 8192) and 1048576")
	}
}

type prefixKind struct {
	name string
	kind Kind
	list PrefixList
}

func (p Prefixes) kinds() []prefixKind {
	return []prefixKind{
		{"operator", KindOperator, p.Operator},
		{"command", KindCommand, p.Command},
		{"quantity", KindQuantity, p.Quantity},
		{"reference", KindReference, p.Reference},
		{"location", KindLocation, p.Location},
	}
}

// ApplyDefaults fills what the config file left out: a nil pattern list or prefix list
// (key absent) takes its default, while an explicit empty list (`patterns: []`) stays
// empty and disables the rules. Decoding into DefaultConfig() gives the same result.
func (c *Config) ApplyDefaults() {
	def := DefaultConfig()
	if c.Patterns == nil {
		c.Patterns = def.Patterns
	}
	p, dp := &c.Prefixes, def.Prefixes
	for _, f := range []struct{ dst, src *PrefixList }{
		{&p.Operator, &dp.Operator}, {&p.Command, &dp.Command}, {&p.Quantity, &dp.Quantity},
		{&p.Reference, &dp.Reference}, {&p.Location, &dp.Location},
	} {
		if *f.dst == nil {
			*f.dst = *f.src
		}
	}
}
