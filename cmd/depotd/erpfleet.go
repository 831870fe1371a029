package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/depotd/depotd/edge/console"
	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/fleetweb"
)

// erpFleet is the fleet page served by `depotd erp` (erp.yaml's fleet section): the page
// of `depotd fleet --listen`, fed by its own MQTT client on the connector's brokers. Its
// own client, not the connector's: the page shows every depot on the brokers, not only
// those this instance owns, and its clean session leaves the connector's persistent one
// alone.
type erpFleet struct {
	web  *fleetweb.Server
	ln   net.Listener
	opts *mqtt.ClientOptions
	log  *slog.Logger
}

// newERPFleet checks the page's settings and listens, so that a port in use is said
// before the connector starts.
func newERPFleet(cfg *ERPConfig, log *slog.Logger) (*erpFleet, error) {
	prefix, _ := fleetPrefix(cfg.MQTT.TopicPrefix) // checked with the config
	fleet := uplink.NewFleet(prefix)
	fleet.SetStatusInterval(cfg.Fleet.StatusInterval)
	web, err := fleetweb.New(fleetweb.Options{Fleet: fleet, Users: cfg.Fleet.Users, Verify: console.VerifyPassword,
		SessionTTL: cfg.Fleet.SessionTTL, Secure: cfg.Fleet.SecureCookies, Log: log})
	if err != nil {
		return nil, err
	}
	tlsCfg, err := uplink.ClientTLS(cfg.MQTT.Config())
	if err != nil {
		return nil, fmt.Errorf("mqtt.tls: %w", err)
	}
	opts := mqtt.NewClientOptions().SetClientID(cfg.MQTT.ClientID + "-fleet").
		SetUsername(cfg.MQTT.Username).SetPassword(cfg.MQTT.Password).SetKeepAlive(cfg.MQTT.KeepAlive).
		// The page shows what the brokers hold now: the retained statuses are sent again
		// on every connect, so nothing needs a persistent session.
		SetCleanSession(true).SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(time.Second).
		SetMaxReconnectInterval(30 * time.Second).SetOrderMatters(true)
	for _, b := range cfg.MQTT.Brokers {
		opts.AddBroker(b)
	}
	if tlsCfg != nil {
		opts.SetTLSConfig(tlsCfg)
	}
	ln, err := net.Listen("tcp", cfg.Fleet.Listen)
	if err != nil {
		return nil, fmt.Errorf("fleet.listen: %w", err)
	}
	f := &erpFleet{web: web, ln: ln, opts: opts, log: log}
	opts.SetConnectionLostHandler(func(_ mqtt.Client, err error) {
		log.Warn("erp fleet page mqtt connection lost", "err", err)
	})
	opts.SetOnConnectHandler(func(c mqtt.Client) {
		t := c.Subscribe(fleet.Filter(), 1, func(_ mqtt.Client, m mqtt.Message) {
			if _, _, err := web.Update(m.Topic(), m.Payload(), m.Retained()); err != nil {
				log.Warn("erp fleet page status refused", "topic", m.Topic(), "err", err)
			}
		})
		if !t.WaitTimeout(30*time.Second) || t.Error() != nil {
			log.Error("erp fleet page subscribe", "filter", fleet.Filter(), "err", t.Error())
			return
		}
		log.Info("erp fleet page mqtt online", "filter", fleet.Filter())
	})
	return f, nil
}

// Run serves the page and follows the depots' status until ctx ends.
func (f *erpFleet) Run(ctx context.Context) error {
	c := mqtt.NewClient(f.opts)
	c.Connect() // retried by paho until it succeeds or Disconnect
	defer c.Disconnect(250)
	f.log.Info("erp fleet page listening", "addr", f.ln.Addr().String())
	if err := f.web.Serve(ctx, f.ln); err != nil {
		return fmt.Errorf("fleet page: %w", err)
	}
	return nil
}
