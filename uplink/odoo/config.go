package odoo

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/depotd/depotd/edge"
)

// Defaults applied to zero values of Config; documented in firmware-config/erp.yaml.
const (
	DefaultCallTimeout = 30 * time.Second
	DefaultPostTimeout = 120 * time.Second
	DefaultRetryMax    = 60 * time.Second
	DefaultBatch       = 20
	maxBatch           = 500
)

// Config is the `odoo:` section of erp.yaml.
type Config struct {
	// URL is Odoo's base URL. https:// is required unless the host is a loopback address:
	// the API key travels in every request.
	URL string `yaml:"url"`
	// Database is the Odoo database (X-Odoo-Database).
	Database string `yaml:"database"`
	// APIKeyFile holds the API key of the Odoo user the connector acts as, alone on its
	// first line. It must not be readable by group or others.
	APIKeyFile string `yaml:"api_key_file"`
	// Timeout bounds each read call. Default 30s.
	Timeout time.Duration `yaml:"timeout"`
	// PostTimeout bounds each posting call (one transaction, all its lines). Default 120s.
	// A posting that times out is retried: the idempotency key in Odoo makes that safe.
	PostTimeout time.Duration `yaml:"post_timeout"`
	// RetryMax caps the backoff between retries of a transient failure. Default 60s.
	RetryMax time.Duration `yaml:"retry_max"`
	// Batch is the most transactions of one depot posted in one call when they are
	// already waiting in order (erpcore.Config.MaxBatch); each still in its own savepoint.
	// 1 turns batching off. Default 20.
	Batch int `yaml:"batch"`
}

// ApplyDefaults fills the zero values documented on Config.
func (c *Config) ApplyDefaults() {
	if c.Timeout == 0 {
		c.Timeout = DefaultCallTimeout
	}
	if c.PostTimeout == 0 {
		c.PostTimeout = DefaultPostTimeout
	}
	if c.RetryMax == 0 {
		c.RetryMax = DefaultRetryMax
	}
	if c.Batch == 0 {
		c.Batch = DefaultBatch
	}
}

// Check reports every problem with its key path under path (normally "odoo"). It reads
// the API key file (to say early that it is missing or too open) but calls nothing.
func (c *Config) Check(path string, report func(key, msg string)) {
	switch u, err := url.Parse(c.URL); {
	case c.URL == "":
		report(path+".url", "required (Odoo's base URL, e.g. https://erp.example.com)")
	case err != nil:
		report(path+".url", fmt.Sprintf("not a URL: %v", err))
	case u.Scheme != "https" && u.Scheme != "http":
		report(path+".url", fmt.Sprintf("scheme %q: use https:// (http:// only for a loopback host)", u.Scheme))
	case u.Hostname() == "":
		report(path+".url", "missing host")
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		report(path+".url", "use https://: the API key would cross the network in clear text (http:// is accepted only for a loopback host)")
	case u.Path != "" && u.Path != "/":
		report(path+".url", fmt.Sprintf("give the base URL without a path (found %q; /json/2 is added by depotd)", u.Path))
	}
	if c.Database == "" {
		report(path+".database", "required (the Odoo database name)")
	}
	if c.APIKeyFile == "" {
		report(path+".api_key_file", "required (a file holding the Odoo API key, mode 0600)")
	} else if _, err := c.readKey(); err != nil {
		report(path+".api_key_file", err.Error())
	}
	if c.Batch < 0 || c.Batch > maxBatch {
		report(path+".batch", fmt.Sprintf("%d: must be 1 to %d (1: one transaction per call)", c.Batch, maxBatch))
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"timeout", c.Timeout}, {"post_timeout", c.PostTimeout}, {"retry_max", c.RetryMax}} {
		if d.v < 0 || (d.v > 0 && d.v < 100*time.Millisecond) {
			report(path+"."+d.key, fmt.Sprintf("%v: must be at least 100ms", d.v))
		}
		if d.v > time.Hour {
			report(path+"."+d.key, fmt.Sprintf("%v: must be at most 1h", d.v))
		}
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (c *Config) readKey() (string, error) {
	fi, err := os.Stat(c.APIKeyFile)
	if err != nil {
		return "", fmt.Errorf("cannot read: %v", err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", c.APIKeyFile)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%s is readable by group or others (mode %04o): chmod 600 it", c.APIKeyFile, fi.Mode().Perm())
	}
	raw, err := os.ReadFile(c.APIKeyFile)
	if err != nil {
		return "", fmt.Errorf("cannot read: %v", err)
	}
	key, _, _ := strings.Cut(string(raw), "\n")
	key = strings.TrimSpace(key)
	if key == "" {
		return "", fmt.Errorf("%s is empty (put the API key on its first line)", c.APIKeyFile)
	}
	return key, nil
}

// Client reads the API key file and returns a client whose per-call timeout is Timeout.
func (c *Config) Client() (*Client, error) {
	key, err := c.readKey()
	if err != nil {
		return nil, fmt.Errorf("odoo.api_key_file: %w", err)
	}
	return New(Options{URL: c.URL, Database: c.Database, APIKey: key, Timeout: c.Timeout})
}

// Depot is one entry of erp.yaml's `depots:` list: a depot the connector serves and how
// its names map onto one Odoo warehouse.
type Depot struct {
	// ID is the depot's depot.id (its MQTT topic level).
	ID string `yaml:"id"`
	// Warehouse is the stock.warehouse's short name (code), e.g. "WH".
	Warehouse string `yaml:"warehouse"`
	// Locations maps a depot location name to an Odoo stock.location complete name. A name
	// not listed maps to itself when it already starts with "<warehouse>/" (the shipped
	// depot configs name locations that way) and to "<warehouse>/<name>" otherwise.
	Locations map[string]string `yaml:"locations"`
	// States maps a depot stock state to the Odoo location that holds stock in that state.
	// Defaults: available and reserved stay in the line's own location (Odoo reserves
	// through pickings, not locations); quarantine → "<warehouse>/Quarantine"; damaged →
	// "<warehouse>/Damaged" (both created by `depotd erp setup`); in_transit → the
	// company's inter-warehouse transit location.
	States map[edge.StockState]string `yaml:"states"`
	// Operators are published to the depot as its operators master data (Odoo here has
	// no HR app to take them from).
	Operators []edge.Operator `yaml:"operators"`
}

// Location is the Odoo complete name a depot location name maps to.
func (d *Depot) Location(name string) string {
	if v, ok := d.Locations[name]; ok {
		return v
	}
	if strings.HasPrefix(name, d.Warehouse+"/") {
		return name
	}
	return d.Warehouse + "/" + name
}

// StateLocation is the Odoo complete name that holds stock in state st, or "" when the
// state stays in the line's location (available, reserved) or, for in_transit, when the
// company's transit location is meant (setup resolves it).
func (d *Depot) StateLocation(st edge.StockState) string {
	if v, ok := d.States[st]; ok {
		return v
	}
	switch st {
	case edge.Quarantine:
		return d.Warehouse + "/Quarantine"
	case edge.Damaged:
		return d.Warehouse + "/Damaged"
	}
	return ""
}

// CheckDepots reports every problem in the depots list with its key path under path
// (normally "depots").
func CheckDepots(path string, depots []Depot, report func(key, msg string)) {
	if len(depots) == 0 {
		report(path, "at least one depot is required (id and warehouse)")
	}
	seen := map[string]int{}
	for i, d := range depots {
		p := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case d.ID == "":
			report(p+".id", "required (the depot's depot.id)")
		case !validDepotID(d.ID):
			report(p+".id", fmt.Sprintf("%q: use letters, digits, '-', '_' and '.' only, at most 64 (as depot.id)", d.ID))
		default:
			// Idempotency keys lower-case the id and turn other characters into '_':
			// D-1, d-1 and D_1 would share them.
			k := Slug(d.ID)
			if j, dup := seen[k]; dup {
				report(p+".id", fmt.Sprintf("%q is also %s[%d] in Odoo's keys (depotd.tx_%s_<seq>): ids may not differ only in case or in '-', '.' versus '_'", d.ID, path, j, k))
			}
			seen[k] = i
		}
		switch {
		case d.Warehouse == "":
			report(p+".warehouse", "required (the Odoo warehouse's short name, e.g. WH)")
		case len(d.Warehouse) > 5 || strings.ContainsAny(d.Warehouse, "/ \t"):
			report(p+".warehouse", fmt.Sprintf("%q: an Odoo warehouse short name has at most 5 characters and no '/' or spaces", d.Warehouse))
		}
		for _, k := range sortedKeys(d.Locations) {
			if k == "" {
				report(p+".locations", "a depot location name must not be empty")
			}
			if strings.TrimSpace(d.Locations[k]) == "" {
				report(p+".locations."+k, "an Odoo location complete name is required, e.g. WH/Stock")
			}
		}
		states := make([]string, 0, len(d.States))
		for st := range d.States {
			states = append(states, string(st))
		}
		sort.Strings(states)
		for _, s := range states {
			st := edge.StockState(s)
			if !st.Valid() {
				report(p+".states."+s, fmt.Sprintf("unknown stock state (known: %s)", stateNames()))
			} else if strings.TrimSpace(d.States[st]) == "" {
				report(p+".states."+s, "an Odoo location complete name is required, e.g. WH/Quarantine")
			}
		}
		checkOperators(p+".operators", d.Operators, report)
	}
}

// Slug is a depot id as it appears in Odoo keys (DECISIONS.md): lower-cased, every
// character outside [a-z0-9_] replaced by '_'.
func Slug(depot string) string {
	b := []byte(strings.ToLower(depot))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}

// TxKey is the ir.model.data name (module "depotd") of a posted (depot, seq).
func TxKey(depot string, seq uint64) string {
	return fmt.Sprintf("tx_%s_%d", Slug(depot), seq)
}

func validDepotID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func stateNames() string {
	var out []string
	for _, s := range edge.StockStates {
		out = append(out, string(s))
	}
	return strings.Join(out, ", ")
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
