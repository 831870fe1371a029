package main

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// #19: the demo's link behaves as a WAN link that goes down: cutting it ends every
// connection through it and refuses new ones; restoring it lets clients connect again.
// The broker itself stays up (the simulated ERP is not cut off).
func TestDemoLinkCutsAndRestoresTheUplinksRoute(t *testing.T) {
	leakCheck(t)
	broker := startBroker(t)
	host, _ := strings.CutPrefix(broker, "tcp://")
	link, err := newDemoLink(host, false, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- link.run(ctx) }()
	defer func() { cancel(); <-done }()

	lost := make(chan error, 1)
	connect := func(id string) (mqtt.Client, error) {
		c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(link.URL()).SetClientID(id).
			SetAutoReconnect(false).SetConnectTimeout(2 * time.Second).
			SetConnectionLostHandler(func(_ mqtt.Client, err error) { lost <- err }))
		tok := c.Connect()
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			return nil, errOrTimeout(tok.Error())
		}
		return c, nil
	}
	c, err := connect("before")
	if err != nil {
		t.Fatalf("through the link while up: %v", err)
	}
	link.SetDown(true)
	select {
	case <-lost:
	case <-time.After(10 * time.Second):
		t.Fatal("cutting the link left the connection up")
	}
	c.Disconnect(0)
	if c, err := connect("during"); err == nil {
		c.Disconnect(0)
		t.Fatal("connected through a cut link")
	}
	// The broker is still there for everyone else.
	direct := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID("erp"))
	if tok := direct.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("the broker went down with the link: %v", tok.Error())
	}
	direct.Disconnect(0)
	link.SetDown(false)
	c, err = connect("after")
	if err != nil {
		t.Fatalf("through the restored link: %v", err)
	}
	c.Disconnect(0)
}

func errOrTimeout(err error) error {
	if err == nil {
		return &net.OpError{Op: "connect", Err: context.DeadlineExceeded}
	}
	return err
}
