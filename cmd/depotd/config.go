package main

import (
	"encoding"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/depotd/depotd/devices"
	"github.com/depotd/depotd/devices/barcode"
	"github.com/depotd/depotd/devices/drivers"
	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/anomaly"
	"github.com/depotd/depotd/edge/console"
	"github.com/depotd/depotd/edge/replenish"
	"github.com/depotd/depotd/edge/station"
	"github.com/depotd/depotd/uplink"
	"gopkg.in/yaml.v3"
)

// Config is depotd's whole configuration: each package owns its section.
type Config struct {
	Depot     DepotConfig        `yaml:"depot"`
	DataDir   string             `yaml:"data_dir"`
	Console   console.Config     `yaml:"console"`
	Locations []edge.Location    `yaml:"locations"`
	UoMs      []edge.UoM         `yaml:"uoms"`
	Stock     StockConfig        `yaml:"stock"`
	Barcodes  barcode.Config     `yaml:"barcodes"`
	Devices   []devices.Config   `yaml:"devices"`
	Journal   edge.JournalConfig `yaml:"journal"`
	Anomalies anomaly.Config     `yaml:"anomalies"`
	// Replenishment holds min/max rules until the connector downlinks Odoo's orderpoints.
	Replenishment replenish.Config `yaml:"replenishment"`
	// Uplink is absent for a standalone depot: nothing is forwarded and the backlog grows.
	Uplink *uplink.Config `yaml:"uplink"`

	cat *edge.Catalog // built by check

	// Stations, StationSettings and Master belong to edge/station (see stations.go).
	Stations        []station.Config     `yaml:"stations"`
	StationSettings station.Settings     `yaml:"station_settings"`
	Master          station.MasterConfig `yaml:"master"`
}

// DepotConfig names the depot.
type DepotConfig struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
}

// StockConfig holds ledger policies.
type StockConfig struct {
	// NegativeStock maps a location type to allow or refuse (default allow, with an
	// exception record, so that the depot keeps moving when local stock is stale).
	NegativeStock map[edge.LocationType]edge.NegativePolicy `yaml:"negative_stock"`
}

// Problem is one config error with its key path.
type Problem struct {
	Key string
	Msg string
}

func (p Problem) String() string {
	if p.Key == "" {
		return p.Msg
	}
	return p.Key + ": " + p.Msg
}

// ConfigError lists every problem found in a config file.
type ConfigError struct {
	Path     string
	Problems []Problem
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "config %s: %d problem(s)", e.Path, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  " + p.String())
	}
	return b.String()
}

// loadConfig reads, decodes strictly, defaults and checks the config at path.
func loadConfig(path string) (*Config, error) { return loadConfigFile(path, parseConfig) }

// loadConfigFile opens path and parses it; a *ConfigError gets the path.
func loadConfigFile[T any](path string, parse func(io.Reader) (T, error)) (T, error) {
	f, err := os.Open(path)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	cfg, err := parse(f)
	var ce *ConfigError
	if errors.As(err, &ce) {
		ce.Path = path
	}
	return cfg, err
}

// parseConfig is pure: it decodes r, reports unknown keys and type errors by key path,
// applies defaults and checks every section. All problems are returned at once.
func parseConfig(r io.Reader) (*Config, error) {
	var probs []Problem
	report := func(key, msg string) { probs = append(probs, Problem{key, msg}) }
	cfg := &Config{}
	if _, err := decodeConfig(r, cfg, report); err != nil {
		return nil, err
	}
	// One pass: the meaning of everything that decoded is checked too. A key already
	// refused while decoding was left at its zero value; what the checks say of it (or of
	// anything below it) would repeat the same problem in other words.
	refused := make([]string, 0, len(probs))
	for _, p := range probs {
		refused = append(refused, p.Key)
	}
	cfg.applyDefaults()
	cfg.check(func(key, msg string) {
		for _, k := range refused {
			if k != "" && (key == k || strings.HasPrefix(key, k+".") || strings.HasPrefix(key, k+"[")) {
				return
			}
		}
		report(key, msg)
	})
	if len(probs) > 0 {
		return cfg, &ConfigError{Problems: probs}
	}
	return cfg, nil
}

// decodeConfig is the strict decoding every config file of depotd shares: it reads r
// (at most 4 MiB), reports each key that cfg's type does not have and each type error by
// key path, and decodes into cfg (a pointer to the config struct). empty says the document
// holds nothing. The error is for unreadable input or invalid YAML only.
func decodeConfig(r io.Reader, cfg any, report func(key, msg string)) (empty bool, err error) {
	data, err := io.ReadAll(io.LimitReader(r, 4<<20))
	if err != nil {
		return false, fmt.Errorf("read config: %w", err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return false, &ConfigError{Problems: []Problem{{"", "not valid YAML: " + err.Error()}}}
	}
	if len(root.Content) == 0 {
		return true, nil
	}
	lines := map[int]string{}
	checkKeys(root.Content[0], reflect.TypeOf(cfg).Elem(), "", lines, report)
	// checkKeys decoded every value of a type with its own decoder and blanked the ones
	// that failed: what is left decodes in one go, every type error reported.
	if err := root.Decode(cfg); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for _, e := range te.Errors {
				report(keyForLine(e, lines), cleanYAMLError(e))
			}
		} else {
			report("", err.Error())
		}
	}
	return false, nil
}

func (c *Config) applyDefaults() {
	if c.DataDir == "" {
		c.DataDir = "/var/lib/depotd"
	}
	c.Console.ApplyDefaults()
	c.Barcodes.ApplyDefaults()
	c.Journal.ApplyDefaults()
	c.Anomalies.ApplyDefaults()
	c.StationSettings.ApplyDefaults()
}

func (c *Config) check(report func(key, msg string)) {
	if c.Depot.ID == "" {
		report("depot.id", "required (the depot's id, used in MQTT topics and the database)")
	} else if !depotIDRE.MatchString(c.Depot.ID) {
		report("depot.id", fmt.Sprintf("%q: use letters, digits, '-', '_' and '.' only (it becomes an MQTT topic level)", c.Depot.ID))
	}
	c.Console.Check("console", report)
	c.Barcodes.Check("barcodes", report)
	c.Journal.Check("journal", report)
	c.Anomalies.Check("anomalies", report)
	c.Uplink.Check("uplink", report)
	drivers.CheckAll(c.Devices, report)
	for i, l := range c.Locations {
		p := fmt.Sprintf("locations[%d]", i)
		if l.Name == "" {
			report(p+".name", "required")
		}
		if !validLocationType(l.Type) {
			report(p+".type", fmt.Sprintf("unknown type %q (internal, transit, quarantine, returns, mobile, virtual)", l.Type))
		}
		if l.Role != "" && (l.Type != edge.LocVirtual || (l.Role != edge.RoleSupplier && l.Role != edge.RoleCustomer && l.Role != edge.RoleLoss)) {
			report(p+".role", "only a virtual location has a role: supplier, customer or loss")
		}
	}
	for t, p := range c.Stock.NegativeStock {
		if !validLocationType(t) {
			report("stock.negative_stock."+string(t), "unknown location type")
		}
		if p != edge.NegativeAllow && p != edge.NegativeRefuse {
			report("stock.negative_stock."+string(t), fmt.Sprintf("%q: allow or refuse", p))
		}
	}
	cat, err := edge.NewCatalog(c.Locations, c.UoMs, c.Stock.NegativeStock)
	if err != nil {
		report("locations", err.Error())
	}
	c.cat = cat
	if cat != nil {
		c.Replenishment.ApplyDefaults(cat)
		c.Replenishment.Check("replenishment", cat, report)
	}
	c.checkStations(report)
}

var depotIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

func validLocationType(t edge.LocationType) bool {
	for _, v := range edge.LocationTypes {
		if t == v {
			return true
		}
	}
	return false
}

// catalog is the locations and units the journal validates against; a config that
// passed parseConfig always has one.
func (c *Config) catalog() *edge.Catalog { return c.cat }

// masterData is the config's master data as the journal takes it, with the stations'
// weight tolerance for items without their own: a line counted and weighed is held to
// the same tolerance whether a station or the API posted it.
func (c *Config) masterData() edge.MasterData {
	d := c.Master.Data()
	d.WeightTolerance = c.StationSettings.WeightTolerance
	return d
}

var (
	textUnmarshaler = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()
	yamlUnmarshaler = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()
)

// checkKeys walks the YAML tree against the config's Go type and reports every key that
// the type does not have, with its path. It also records which key path each line holds,
// so that decoding errors (which only know lines) can name their key.
func checkKeys(n *yaml.Node, t reflect.Type, path string, lines map[int]string, report func(key, msg string)) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if reflect.PointerTo(t).Implements(textUnmarshaler) || reflect.PointerTo(t).Implements(yamlUnmarshaler) {
		// Its own decoder's error would end the whole decode, and would not know its key:
		// try it here, report it here, and blank the value so the rest decodes.
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			report(path, cleanYAMLError(err.Error()))
			n.Kind, n.Tag, n.Value, n.Content = yaml.ScalarNode, "!!null", "", nil
		}
		return
	}
	if t == durationType && n.Kind == yaml.ScalarNode {
		if v, ok := withDays(n.Value); ok {
			n.Value = v
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			if !(n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
				report(path, fmt.Sprintf("expected a mapping of keys, found %s", nodeKind(n)))
			}
			return
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			kp := joinKey(path, k.Value)
			lines[k.Line] = kp
			f, ok := fields[k.Value]
			if !ok {
				report(kp, "unknown key"+suggest(k.Value, fields))
				continue
			}
			checkKeys(v, f, kp, lines, report)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			if !(n.Kind == yaml.ScalarNode && n.Tag == "!!null") && t.Elem().Kind() != reflect.Uint8 {
				report(path, fmt.Sprintf("expected a list, found %s", nodeKind(n)))
			}
			return
		}
		for i, c := range n.Content {
			p := path + "[" + strconv.Itoa(i) + "]"
			lines[c.Line] = p
			checkKeys(c, t.Elem(), p, lines, report)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			kp := joinKey(path, n.Content[i].Value)
			lines[n.Content[i].Line] = kp
			checkKeys(n.Content[i+1], t.Elem(), kp, lines, report)
		}
	}
}

func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			for k, v := range yamlFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

func suggest(k string, fields map[string]reflect.Type) string {
	var names []string
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if strings.EqualFold(strings.ReplaceAll(n, "_", ""), strings.ReplaceAll(strings.ReplaceAll(k, "-", ""), "_", "")) {
			return fmt.Sprintf(" (did you mean %q?)", n)
		}
	}
	return " (known keys: " + strings.Join(names, ", ") + ")"
}

func joinKey(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

var lineRE = regexp.MustCompile(`^line (\d+): `)

func keyForLine(msg string, lines map[int]string) string {
	m := lineRE.FindStringSubmatch(msg)
	if m == nil {
		return ""
	}
	n, _ := strconv.Atoi(m[1])
	return lines[n]
}

var (
	durationType = reflect.TypeOf(time.Duration(0))
	daysRE       = regexp.MustCompile(`^(\d+)d(.*)$`)
	typeErrRE    = regexp.MustCompile("^(?:line \\d+: )?cannot unmarshal !!(\\w+) `(.*)` into (.+)$")
)

// withDays turns a duration with a leading days part ("90d", "1d12h") into hours, which
// Go's durations lack: retention and windows are said in days.
func withDays(s string) (string, bool) {
	m := daysRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return "", false
	}
	days, err := strconv.Atoi(m[1])
	if err != nil || days > 100000 {
		return "", false
	}
	out := fmt.Sprintf("%dh%s", days*24, m[2])
	if _, err := time.ParseDuration(out); err != nil {
		return "", false
	}
	return out, true
}

// cleanYAMLError says a decoding error in the config's words: what the value is not,
// never a YAML tag or a Go type.
func cleanYAMLError(msg string) string {
	m := typeErrRE.FindStringSubmatch(msg)
	if m == nil {
		return lineRE.ReplaceAllString(msg, "")
	}
	tag, v, into := m[1], m[2], m[3]
	shown := fmt.Sprintf("%q", v)
	if tag == "map" || tag == "seq" {
		shown = map[string]string{"map": "a mapping", "seq": "a list"}[tag]
	}
	switch {
	case into == "time.Duration":
		return shown + " is not a duration (like 30s, 5m, 12h or 90d)"
	case strings.HasPrefix(into, "int") || strings.HasPrefix(into, "uint"):
		return shown + " is not a whole number"
	case strings.HasPrefix(into, "float"):
		return shown + " is not a number"
	case into == "bool":
		return shown + " is not true or false"
	case into == "string":
		return shown + " is not text"
	case strings.HasPrefix(into, "[]"):
		return "expected a list, found " + shown
	case strings.HasPrefix(into, "map[") || strings.Contains(into, "."):
		return "expected a mapping of keys, found " + shown
	}
	return shown + " cannot be read here"
}
