package console

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/depotd/depotd/edge"
	"gopkg.in/yaml.v3"
)

// unknownItemExceptions are the unknown_item exceptions tx raises against the depot's
// one master-data view (edge.MasterView.UnknownExceptions); the tracking rules of known
// items the journal applies itself, on every path.
func (s *Server) unknownItemExceptions(tx edge.Transaction) []edge.Exception {
	view, _ := s.j.MasterView() // on a read error, the last view built; the commit then fails itself
	return view.UnknownExceptions(tx)
}

// secretKey matches config keys whose values must never be shown.
var secretKey = regexp.MustCompile(`(?i)(^|_)(tokens?|password|passwd|passphrase|secrets?|pin|hash|private_key|credentials?|api_key)($|_)`)

const masked = "•••••• (hidden)"

// settingsSource is the running configuration to show: the whole of it when the daemon
// gave it, else the console's own section.
func (s *Server) settingsSource() any {
	if s.opts.Settings != nil {
		return s.opts.Settings
	}
	return struct {
		Console Config `yaml:"console"`
	}{s.cfg}
}

// settingsYAML renders the running configuration with every secret value masked.
func (s *Server) settingsYAML() string {
	src := s.settingsSource()
	var n yaml.Node
	if err := n.Encode(src); err != nil {
		return "(settings could not be shown: " + err.Error() + ")"
	}
	maskNode(&n, false)
	out, err := yaml.Marshal(&n)
	if err != nil {
		return "(settings could not be shown: " + err.Error() + ")"
	}
	return strings.TrimSpace(string(out))
}

// settingsSummary is what the devices page shows before the full configuration: where
// the uplink sends, where the console listens, how long acknowledged transactions are kept.
type settingsSummary struct {
	Brokers   []string
	Listen    string
	Retention string
}

// summarise reads the summary from the running configuration (the same the full YAML
// shows), falling back on what the console itself knows.
func (s *Server) summarise() settingsSummary {
	src := s.settingsSource()
	var n yaml.Node
	_ = n.Encode(src) // on error n is empty: every value falls back
	sum := settingsSummary{Listen: s.cfg.Listen}
	for _, key := range []string{"brokers", "broker"} {
		if b := yamlAt(&n, "uplink", key); b != nil {
			if b.Kind == yaml.ScalarNode && b.Value != "" {
				sum.Brokers = append(sum.Brokers, redactURL(b.Value))
			}
			for _, c := range b.Content {
				if c.Kind == yaml.ScalarNode && c.Value != "" {
					sum.Brokers = append(sum.Brokers, redactURL(c.Value))
				}
			}
		}
	}
	if len(sum.Brokers) == 0 && s.opts.Uplink != nil {
		if u := s.uplinkView(); u.Broker != "" {
			sum.Brokers = []string{u.Broker}
		}
	}
	if l := yamlAt(&n, "console", "listen"); l != nil && l.Value != "" {
		sum.Listen = l.Value
	}
	if sum.Listen == "" {
		sum.Listen = ":8080"
	}
	ret := edge.DefaultRetention
	if r := yamlAt(&n, "journal", "retention"); r != nil {
		if d, err := time.ParseDuration(r.Value); err == nil && d > 0 {
			ret = d
		}
	}
	sum.Retention = ret.String()
	if ret%(24*time.Hour) == 0 {
		sum.Retention = fmt.Sprintf("%d days", ret/(24*time.Hour))
	}
	return sum
}

// yamlAt follows mapping keys from n; nil when a key is missing.
func yamlAt(n *yaml.Node, keys ...string) *yaml.Node {
	for n != nil && n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	for _, k := range keys {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
				break
			}
		}
		n = next
	}
	return n
}

// holdsRecords says whether n is a mapping or a list of mappings.
func holdsRecords(n *yaml.Node) bool {
	if n.Kind == yaml.MappingNode {
		return true
	}
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		return false
	}
	for _, c := range n.Content {
		if c.Kind != yaml.MappingNode {
			return false
		}
	}
	return true
}

func maskNode(n *yaml.Node, secret bool) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			// A secret key hides its value; a list of records under one (api_tokens:
			// name, token, role) hides only the fields that are secrets themselves.
			maskNode(v, secret || (secretKey.MatchString(k.Value) && !holdsRecords(v)))
		}
	case yaml.SequenceNode, yaml.DocumentNode:
		for _, c := range n.Content {
			maskNode(c, secret)
		}
	case yaml.ScalarNode:
		if secret && n.Value != "" && n.Tag != "!!null" {
			n.Value, n.Tag, n.Style = masked, "!!str", 0
		} else if r := redactURLs(n.Value); r != n.Value {
			// A broker URL may carry its password (tls://user:pw@host): not a secret key.
			n.Value = r
		}
	}
}
