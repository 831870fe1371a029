package uplink

import "time"

// ClientConfig is the MQTT connection of a client on the ERP side (the `mqtt:` section of
// erp.yaml): the same broker URL schemes, TLS and mutual TLS as the depot's uplink, checked
// by the same code. It has none of the depot's forwarding settings.
type ClientConfig struct {
	// Brokers are tried in order, round robin. Schemes: tcp://, ssl://, tls://, mqtts://
	// (TLS), ws://, wss://.
	Brokers []string `yaml:"brokers"`
	// ClientID must be stable and unique per connector instance. Default "depotd-erp".
	ClientID string    `yaml:"client_id"`
	Username string    `yaml:"username"`
	Password string    `yaml:"password"`
	TLS      TLSConfig `yaml:"tls"`
	// TopicPrefix is the depots' uplink.topic_prefix; {depot_id} is replaced by each
	// served depot's id. Default "depots/{depot_id}/".
	TopicPrefix string `yaml:"topic_prefix"`
	// KeepAlive is the MQTT keepalive. Default 30s.
	KeepAlive time.Duration `yaml:"keepalive"`
}

// DefaultERPClientID is ClientConfig.ClientID's default.
const DefaultERPClientID = "depotd-erp"

// ApplyDefaults fills the zero values documented on ClientConfig.
func (c *ClientConfig) ApplyDefaults() {
	if c.ClientID == "" {
		c.ClientID = DefaultERPClientID
	}
	if c.TopicPrefix == "" {
		c.TopicPrefix = DefaultTopicPrefix
	}
	if c.KeepAlive == 0 {
		c.KeepAlive = DefaultKeepAlive
	}
}

// Check reports every problem with its key path under path (normally "mqtt").
func (c *ClientConfig) Check(path string, report func(key, msg string)) {
	if len(c.Brokers) == 0 {
		report(path+".brokers", "at least one broker URL is required")
		return
	}
	// The depot's checks, on the fields the two configs share (the depot-only ones stay
	// zero and pass).
	cfg := c.Config()
	cfg.Check(path, report)
}

// Config returns the settings as the depot-side Config type, for ClientTLS and dialing.
func (c *ClientConfig) Config() Config {
	return Config{Brokers: c.Brokers, ClientID: c.ClientID, Username: c.Username, Password: c.Password,
		TLS: c.TLS, TopicPrefix: c.TopicPrefix, KeepAlive: c.KeepAlive}
}
