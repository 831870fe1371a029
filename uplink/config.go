package uplink

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Defaults applied to zero values of Config. They are documented here and in PROTOCOL.md;
// nothing else is filled in silently.
const (
	DefaultTopicPrefix    = "depots/{depot_id}/" // {depot_id} is replaced by the depot id
	DefaultKeepAlive      = 30 * time.Second
	DefaultInflight       = 10000
	DefaultResendAfter    = 30 * time.Second
	DefaultStatusInterval = 60 * time.Second
	// DefaultSubscribeTimeout is long enough for a NATS JetStream cluster to create a
	// burst of depots' consumers (500 new depots, 2,000 replicated consumers, took 64 s
	// on a loaded 2-core machine: PROTOCOL.md "Brokers"). A shorter wait makes a depot give
	// up and subscribe again while its first consumers are still being created, which adds
	// to the very queue it waited on; mosquitto answers in milliseconds either way.
	DefaultSubscribeTimeout = 60 * time.Second

	// maxInflight stays below MQTT's 16-bit packet id space with room for status and
	// subscribe packets.
	maxInflight = 60000
)

// Config is the `uplink:` section of depotd.yaml. A nil *Config (no section) means a
// standalone depot: nothing is forwarded and the backlog grows.
type Config struct {
	// Brokers are tried in order, round robin, on every (re)connect. Schemes: tcp://,
	// ssl://, tls://, mqtts:// (TLS), ws://, wss://.
	Brokers []string `yaml:"brokers"`
	// ClientID is the MQTT client id; default the depot id (with '.', '*', '>' and '%'
	// percent-escaped, since NATS refuses the first three in a client id). It must be
	// stable: the broker keeps the persistent session (queued acks) under it.
	ClientID string    `yaml:"client_id"`
	Username string    `yaml:"username"`
	Password string    `yaml:"password"`
	TLS      TLSConfig `yaml:"tls"`
	// TopicPrefix is prepended to every topic; default "depots/{depot_id}/".
	TopicPrefix string `yaml:"topic_prefix"`
	// KeepAlive is the MQTT keepalive; a black-holed link is noticed within about 1.5× it.
	// Default 30s.
	KeepAlive time.Duration `yaml:"keepalive"`
	// Inflight bounds how many transactions may be sent above the ERP's ack watermark.
	// Default 10000.
	Inflight int `yaml:"inflight"`
	// ResendAfter is how long the ack watermark may stand still while sent transactions wait
	// above it before they are sent again (go-back-N). Default 30s; doubles while the ERP
	// stays silent, capped at 60s or ResendAfter, whichever is larger.
	ResendAfter time.Duration `yaml:"resend_after"`
	// StatusInterval is the period of the retained status heartbeat. Default 60s.
	StatusInterval time.Duration `yaml:"status_interval"`
	// SubscribeTimeout is how long the uplink waits for the broker's SUBACK after each
	// connect before it gives up on the connection and reconnects. Default 60s (a NATS
	// cluster creates a JetStream consumer per subscription, slowly under a burst).
	SubscribeTimeout time.Duration `yaml:"subscribe_timeout"`
}

// TLSConfig names PEM files. CAFile verifies the broker (the system pool when empty);
// CertFile and KeyFile, given together, enable mutual TLS.
type TLSConfig struct {
	CAFile   string `yaml:"ca_file"`
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

var acceptedSchemes = map[string]bool{
	"tcp": true, "ssl": true, "tls": true, "mqtts": true, "ws": true, "wss": true,
}

func isTLSScheme(s string) bool {
	return s == "ssl" || s == "tls" || s == "mqtts" || s == "wss"
}

// Check reports every problem in the section with its full key path (path is the key of
// the section itself, normally "uplink"). It changes nothing.
func (c *Config) Check(path string, report func(key, msg string)) {
	if c == nil {
		return
	}
	if len(c.Brokers) == 0 {
		report(path+".brokers", "at least one broker URL is required (omit the uplink section for a standalone depot)")
	}
	for i, b := range c.Brokers {
		key := fmt.Sprintf("%s.brokers[%d]", path, i)
		u, err := url.Parse(b)
		switch {
		case err != nil:
			report(key, fmt.Sprintf("not a URL: %v", err))
		case !acceptedSchemes[u.Scheme]:
			report(key, fmt.Sprintf("scheme %q not accepted (use tcp, ssl, tls, mqtts, ws or wss)", u.Scheme))
		case u.Hostname() == "":
			report(key, "missing host")
		case u.Port() == "":
			report(key, "missing port (e.g. tcp://broker:1883)")
		default:
			if n, err := strconv.Atoi(u.Port()); err != nil || n < 1 || n > 65535 {
				report(key, fmt.Sprintf("port %q is not a number from 1 to 65535", u.Port()))
			}
		}
	}
	if strings.ContainsAny(c.ClientID, "+#/") {
		report(path+".client_id", "must not contain +, # or /")
	}
	if hasSpace(c.ClientID) {
		report(path+".client_id", "must not contain whitespace (NATS refuses it)")
	}
	if hasSpace(c.TopicPrefix) {
		report(path+".topic_prefix", "must not contain whitespace (NATS refuses it in topics)")
	}
	if c.TopicPrefix != "" {
		if strings.ContainsAny(c.TopicPrefix, "+#") {
			report(path+".topic_prefix", "must not contain MQTT wildcards + or #")
		}
		if !strings.HasSuffix(c.TopicPrefix, "/") {
			report(path+".topic_prefix", `must end with "/"`)
		}
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		report(path+".tls", "cert_file and key_file go together")
	}
	for _, f := range []struct{ key, file string }{
		{"ca_file", c.TLS.CAFile}, {"cert_file", c.TLS.CertFile}, {"key_file", c.TLS.KeyFile},
	} {
		if f.file == "" {
			continue
		}
		if _, err := os.Stat(f.file); err != nil {
			report(path+".tls."+f.key, fmt.Sprintf("cannot read: %v", err))
		}
	}
	if c.TLS.CAFile != "" {
		if _, err := loadCAPool(c.TLS.CAFile); err != nil {
			report(path+".tls.ca_file", err.Error())
		}
	}
	if c.KeepAlive < 0 || (c.KeepAlive > 0 && c.KeepAlive < time.Second) {
		report(path+".keepalive", "must be at least 1s (MQTT counts whole seconds)")
	}
	if c.KeepAlive > 18*time.Hour {
		report(path+".keepalive", "must be at most 18h (MQTT limit 65535s)")
	}
	if c.Inflight < 0 || c.Inflight > maxInflight {
		report(path+".inflight", fmt.Sprintf("must be between 1 and %d", maxInflight))
	}
	if c.ResendAfter < 0 {
		report(path+".resend_after", "must not be negative")
	}
	if c.StatusInterval < 0 {
		report(path+".status_interval", "must not be negative")
	}
	if c.SubscribeTimeout < 0 || (c.SubscribeTimeout > 0 && c.SubscribeTimeout < time.Second) {
		report(path+".subscribe_timeout", "must be at least 1s")
	}
}

// settings is Config with defaults applied and topics resolved for one depot.
type settings struct {
	Config
	prefix string
}

// Effective is c with every default filled in, as the uplink of depot runs it: what a
// settings page should show, not the zero values the file left out.
func (c Config) Effective(depot string) Config { return c.resolve(depot).Config }

func (c Config) resolve(depot string) settings {
	if c.ClientID == "" {
		c.ClientID = defaultClientID(depot)
	}
	if c.TopicPrefix == "" {
		c.TopicPrefix = DefaultTopicPrefix
	}
	if c.KeepAlive == 0 {
		c.KeepAlive = DefaultKeepAlive
	}
	if c.Inflight == 0 {
		c.Inflight = DefaultInflight
	}
	if c.ResendAfter == 0 {
		c.ResendAfter = DefaultResendAfter
	}
	if c.StatusInterval == 0 {
		c.StatusInterval = DefaultStatusInterval
	}
	if c.SubscribeTimeout == 0 {
		c.SubscribeTimeout = DefaultSubscribeTimeout
	}
	prefix := strings.ReplaceAll(c.TopicPrefix, "{depot_id}", depot)
	return settings{Config: c, prefix: prefix}
}

// defaultClientID is the depot id, except that the characters NATS refuses in a client id
// ('.', '*', '>') are percent-escaped, and '%' too so that two depot ids never share one
// (a shared client id would make two depots take over each other's session forever). An id
// without them, the usual case, is its own client id.
func defaultClientID(depot string) string {
	if !strings.ContainsAny(depot, ".*>%") {
		return depot
	}
	var b strings.Builder
	for i := 0; i < len(depot); i++ {
		switch c := depot[i]; c {
		case '.', '*', '>', '%':
			fmt.Fprintf(&b, "%%%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// hasSpace reports whether s holds whitespace or another control character: NATS refuses
// them in topics and client ids (they would split its protocol lines).
func hasSpace(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0
}

func loadCAPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read CA %s: %w", file, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA %s: no PEM certificate found", file)
	}
	return pool, nil
}

// tlsConfig builds the client TLS configuration; nil when no TLS file is configured (the
// system roots then verify ssl:// brokers).
func (t TLSConfig) tlsConfig() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if t.CAFile != "" {
		pool, err := loadCAPool(t.CAFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load client certificate %s: %w", t.CertFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// ClientTLS returns the TLS configuration for cfg's brokers (nil when none uses TLS), for
// other MQTT clients of depotd such as `depotd fleet`.
func ClientTLS(cfg Config) (*tls.Config, error) {
	for _, b := range cfg.Brokers {
		if u, err := url.Parse(b); err == nil && isTLSScheme(u.Scheme) {
			return cfg.TLS.tlsConfig()
		}
	}
	return nil, nil
}
