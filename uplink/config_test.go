package uplink

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	os.WriteFile(notPEM, []byte("hello"), 0o644)
	cases := []struct {
		name string
		yaml string
		want []string // keys reported
	}{
		{"minimal", "brokers: [tcp://broker:1883]", nil},
		{"all schemes", "brokers: [tcp://a:1883, ssl://a:8883, tls://a:8883, mqtts://a:8883, ws://a:80/mqtt, wss://a:443/mqtt]", nil},
		{"full", `
brokers: [tcp://a:1883]
client_id: depot-7
username: u
password: p
topic_prefix: erp/depots/{depot_id}/
keepalive: 15s
inflight: 5000
resend_after: 20s
status_interval: 2m
subscribe_timeout: 90s`, nil},
		{"no brokers", "client_id: x", []string{"uplink.brokers"}},
		{"bad scheme", "brokers: [http://a:80, tcp://b:1883]", []string{"uplink.brokers[0]"}},
		{"no port", "brokers: [tcp://a]", []string{"uplink.brokers[0]"}},
		{"no host", "brokers: ['tcp://:1883']", []string{"uplink.brokers[0]"}},
		{"not a url", "brokers: ['tcp://a b:1883']", []string{"uplink.brokers[0]"}},
		{"wildcard client id", "brokers: [tcp://a:1]\nclient_id: a/+", []string{"uplink.client_id"}},
		{"prefix", "brokers: [tcp://a:1]\ntopic_prefix: depots/#", []string{"uplink.topic_prefix", "uplink.topic_prefix"}},
		{"cert without key", "brokers: [ssl://a:1]\ntls: {cert_file: " + notPEM + "}", []string{"uplink.tls"}},
		{"missing ca", "brokers: [ssl://a:1]\ntls: {ca_file: /nonexistent/ca.pem}", []string{"uplink.tls.ca_file", "uplink.tls.ca_file"}},
		{"ca not pem", "brokers: [ssl://a:1]\ntls: {ca_file: " + notPEM + "}", []string{"uplink.tls.ca_file"}},
		{"keepalive", "brokers: [tcp://a:1]\nkeepalive: 200ms", []string{"uplink.keepalive"}},
		{"negative", "brokers: [tcp://a:1]\ninflight: -1\nresend_after: -1s\nstatus_interval: -1s",
			[]string{"uplink.inflight", "uplink.resend_after", "uplink.status_interval"}},
		{"subscribe timeout", "brokers: [tcp://a:1]\nsubscribe_timeout: 500ms", []string{"uplink.subscribe_timeout"}},
		{"negative subscribe timeout", "brokers: [tcp://a:1]\nsubscribe_timeout: -1s", []string{"uplink.subscribe_timeout"}},
		{"inflight too big", "brokers: [tcp://a:1]\ninflight: 70000", []string{"uplink.inflight"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c Config
			dec := yaml.NewDecoder(strings.NewReader(tc.yaml))
			dec.KnownFields(true)
			if err := dec.Decode(&c); err != nil {
				t.Fatal(err)
			}
			var got []string
			c.Check("uplink", func(key, msg string) { got = append(got, key) })
			sort.Strings(got)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("reported %v, want %v", got, tc.want)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	s := Config{Brokers: []string{"tcp://a:1"}}.resolve("D7")
	if s.ClientID != "D7" || s.prefix != "depots/D7/" || s.KeepAlive != 30*time.Second || s.Inflight != 10000 ||
		s.ResendAfter != 30*time.Second || s.StatusInterval != time.Minute || s.SubscribeTimeout != time.Minute {
		t.Fatalf("defaults %+v", s)
	}
	s = Config{TopicPrefix: "x/{depot_id}/y/", ClientID: "c"}.resolve("D7")
	if s.prefix != "x/D7/y/" || s.ClientID != "c" {
		t.Fatalf("resolved %+v", s)
	}
}

func TestUnknownKeyRefused(t *testing.T) {
	var c Config
	dec := yaml.NewDecoder(strings.NewReader("brokers: [tcp://a:1]\nbroker: tcp://b:1"))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err == nil {
		t.Fatal("unknown key accepted")
	}
}

// #19.9: what the settings page shows is what runs: every default filled in, not the
// zero values a file left out (keepalive: 0s while the uplink used 30s).
func TestEffectiveIsWhatTheUplinkRuns(t *testing.T) {
	eff := Config{Brokers: []string{"tcp://b:1883"}}.Effective("D7")
	if eff.KeepAlive != DefaultKeepAlive || eff.ClientID != "D7" || eff.TopicPrefix != DefaultTopicPrefix ||
		eff.Inflight != DefaultInflight || eff.ResendAfter != DefaultResendAfter || eff.StatusInterval != DefaultStatusInterval ||
		eff.SubscribeTimeout != DefaultSubscribeTimeout {
		t.Fatalf("effective %+v: a default is missing", eff)
	}
	if set := (Config{KeepAlive: 5 * time.Second}).Effective("D7"); set.KeepAlive != 5*time.Second {
		t.Fatalf("a set keepalive became %s", set.KeepAlive)
	}
}
