package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/erpcore"
	"github.com/depotd/depotd/uplink/fleetweb"
	"github.com/depotd/depotd/uplink/odoo"
)

// ERPConfig is erp.yaml, the configuration of `depotd erp` (the ERP end of the uplink,
// run by central IT): each package owns its section. Documented in
// firmware-config/erp.yaml.
type ERPConfig struct {
	MQTT uplink.ClientConfig `yaml:"mqtt"`
	Odoo odoo.Config         `yaml:"odoo"`
	// Downlink is what flows back to the depots: master data and stock snapshots.
	Downlink odoo.DownlinkConfig `yaml:"downlink"`
	// HTTP serves /healthz and /metrics.
	HTTP odoo.HTTPConfig `yaml:"http"`
	// StateDir holds the connector's own state (none of it needed for exactly-once: the
	// idempotency keys live in Odoo). Default /var/lib/depotd-erp.
	StateDir string       `yaml:"state_dir"`
	Depots   []odoo.Depot `yaml:"depots"`
	// Fleet, when present, serves the fleet page of central ops (uplink/fleetweb) for every
	// depot on the connector's brokers, as `depotd fleet --listen` does. Absent: no page.
	Fleet *fleetweb.Config `yaml:"fleet"`
	// Ownership is how often this instance renews its claim of each depot it lists and how
	// long a claim holds when not renewed (PROTOCOL.md "P owner").
	Ownership erpcore.OwnershipConfig `yaml:"ownership"`
}

// DefaultERPStateDir is ERPConfig.StateDir's default.
const DefaultERPStateDir = "/var/lib/depotd-erp"

// loadERPConfig reads, decodes strictly, defaults and checks the ERP config at path.
func loadERPConfig(path string) (*ERPConfig, error) { return loadConfigFile(path, parseERPConfig) }

// parseERPConfig decodes r as parseConfig does the depot's config: unknown keys and type
// errors by key path, then defaults and every section's checks, all problems at once.
func parseERPConfig(r io.Reader) (*ERPConfig, error) {
	var probs []Problem
	report := func(key, msg string) { probs = append(probs, Problem{key, msg}) }
	cfg := &ERPConfig{}
	empty, err := decodeConfig(r, cfg, report)
	if err != nil {
		return nil, err
	}
	if empty {
		return cfg, &ConfigError{Problems: []Problem{{"", "empty config (see firmware-config/erp.yaml)"}}}
	}
	if len(probs) == 0 {
		cfg.applyDefaults()
		cfg.check(report)
	}
	if len(probs) > 0 {
		return cfg, &ConfigError{Problems: probs}
	}
	return cfg, nil
}

func (c *ERPConfig) applyDefaults() {
	c.MQTT.ApplyDefaults()
	c.Odoo.ApplyDefaults()
	c.Downlink.ApplyDefaults()
	c.HTTP.ApplyDefaults()
	if c.StateDir == "" {
		c.StateDir = DefaultERPStateDir
	}
	if c.Fleet != nil {
		c.Fleet.ApplyDefaults()
	}
	c.Ownership.ApplyDefaults()
}

func (c *ERPConfig) check(report func(key, msg string)) {
	c.MQTT.Check("mqtt", report)
	c.Odoo.Check("odoo", report)
	c.Downlink.Check("downlink", report)
	c.HTTP.Check("http", report)
	if !filepath.IsAbs(c.StateDir) {
		report("state_dir", fmt.Sprintf("%q: must be an absolute path", c.StateDir))
	}
	odoo.CheckDepots("depots", c.Depots, report)
	c.Ownership.Check("ownership", report)
	if c.Fleet != nil {
		c.Fleet.Check(func(key, msg string) { report("fleet."+key, msg) })
		if _, ok := fleetPrefix(c.MQTT.TopicPrefix); !ok {
			report("fleet", fmt.Sprintf("needs mqtt.topic_prefix of the form <prefix>{depot_id}/ (the page subscribes to <prefix>+/status), not %q", c.MQTT.TopicPrefix))
		}
	}
}

// fleetPrefix is the part of a depot topic prefix above the depot id ("depots/" of
// "depots/{depot_id}/"): the fleet view subscribes to it with a wildcard in the id's place.
func fleetPrefix(topicPrefix string) (string, bool) {
	above, ok := strings.CutSuffix(topicPrefix, "{depot_id}/")
	return above, ok && !strings.ContainsAny(above, "{}+#")
}
