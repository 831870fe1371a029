package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	firmwareconfig "github.com/depotd/depotd/firmware-config"
	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/embedbroker"
	"github.com/depotd/depotd/uplink/erpsim"
	"github.com/depotd/depotd/uplink/odoo"
	"golang.org/x/sync/errgroup"
)

func init() {
	register("demo", "run the whole appliance on its embedded demo config: simulated scanner and scale, broker and ERP, console on 127.0.0.1:8080", demoCmd)
}

func demoCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("depotd demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "console and API address")
	brokerAddr := fs.String("broker-listen", "127.0.0.1:1883", "address of the embedded MQTT broker (a free port is taken if this one is busy)")
	dataDir := fs.String("data-dir", "", "keep the demo's data here (default: a temporary directory, removed at exit)")
	scanEvery := fs.Duration("scan-every", 20*time.Second, "play a simulated receiving session this often (0: never; scan by hand with the console's test box)")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	odooEnv := fs.String("odoo", "", "drain the depot into a real Odoo 19 instead of the simulated ERP: the odoo.env file (ODOO_URL, ODOO_DB, ODOO_API_KEY) that ../shared/odoo/start writes")
	odooWarehouse := fs.String("odoo-warehouse", "DEMO1", "with --odoo: the Odoo warehouse code the demo's depot posts into (created when missing, with the demo's locations and items)")
	outage := fs.Bool("outage", false, "start with the uplink's link cut (the dashboard has a button to restore it): watch the backlog build, then drain")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0 // asked for help: given
		}
		return 2
	}
	log, err := newLogger(stderr, *level, "text")
	if err != nil {
		fmt.Fprintln(stderr, "depotd demo:", err)
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "depotd demo:", err)
		return 1
	}
	cfg, err := parseConfig(bytes.NewReader(firmwareconfig.DemoConfig))
	if err != nil {
		return fail(fmt.Errorf("embedded demo config: %w", err))
	}
	cfg.Console.Listen = *listen
	if *dataDir != "" {
		cfg.DataDir = *dataDir
	} else {
		tmp, err := os.MkdirTemp("", "depotd-demo-*")
		if err != nil {
			return fail(err)
		}
		defer os.RemoveAll(tmp)
		cfg.DataDir = tmp
	}
	if *odooEnv != "" {
		if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
			return fail(err)
		}
		if cfg.Depot.ID, err = demoDepotID(cfg.DataDir, cfg.Depot.ID); err != nil {
			return fail(fmt.Errorf("demo depot id: %w", err))
		}
	}
	docs, err := demoDocuments(time.Now())
	if err != nil {
		return fail(err)
	}
	bln, err := net.Listen("tcp", *brokerAddr)
	if err != nil {
		if bln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return fail(fmt.Errorf("embedded broker: %w", err))
		}
	}
	brokerURL := "tcp://" + bln.Addr().String()
	link, err := newDemoLink(bln.Addr().String(), *outage, log.With("component", "demo-link"))
	if err != nil {
		bln.Close()
		return fail(fmt.Errorf("demo link: %w", err))
	}
	var erp *odoo.Service
	if *odooEnv != "" {
		if erp, err = prepareDemoOdoo(ctx, *odooEnv, *odooWarehouse, cfg, brokerURL, stdout, log.With("component", "erp")); err != nil {
			bln.Close()
			return fail(fmt.Errorf("--odoo %s: %w", *odooEnv, err))
		}
	}
	cfg.Uplink = &uplink.Config{Brokers: []string{link.URL()}, StatusInterval: 10 * time.Second, ResendAfter: 10 * time.Second}
	sims, err := openDemoDevices(cfg, filepath.Join(cfg.DataDir, "dev"), log)
	if err != nil {
		bln.Close()
		return fail(fmt.Errorf("simulated devices: %w", err))
	}
	d, err := openDaemon(cfg, log, withDemoLink(link))
	if err != nil {
		bln.Close()
		sims.close()
		return fail(err)
	}
	addr := d.ln.Addr().String()
	fmt.Fprintf(stdout, "depotd demo: depot %s, data in %s\n", cfg.Depot.ID, cfg.DataDir)
	fmt.Fprintf(stdout, "  console:  http://%s/  (log in as demo / demo, or badge alice with PIN 1234)\n", addr)
	fmt.Fprintf(stdout, "  devices:  simulated scanner %s and MT-SICS scale %s (pseudo-terminals)\n", cfg.Devices[0].Port, cfg.Devices[1].Port)
	if erp != nil {
		fmt.Fprintf(stdout, "  uplink:   embedded MQTT broker %s, drained by the Odoo connector (depotd erp) into %s, database %s, warehouse %s; watch it: depotd fleet --broker %s\n",
			brokerURL, erp.Odoo.URL, erp.Odoo.Database, *odooWarehouse, brokerURL)
	} else {
		fmt.Fprintf(stdout, "  uplink:   embedded MQTT broker %s with a simulated ERP that acknowledges; watch it: depotd fleet --broker %s\n", brokerURL, brokerURL)
	}
	fmt.Fprintf(stdout, "  outage:   the dashboard's \"Cut the uplink\" button (or --outage) cuts the depot's link: scanning goes on, the backlog builds, and drains once restored\n")
	fmt.Fprintf(stdout, "  API:      tokens operator %s, supervisor %s, admin %s\n",
		cfg.Console.APITokens[0].Token, cfg.Console.APITokens[1].Token, cfg.Console.APITokens[2].Token)
	fmt.Fprintf(stdout, "            curl -s -H 'Authorization: Bearer %s' -d '{\"id\":\"r1\",\"type\":\"receipt\",\"lines\":[{\"item\":\"VACCINE\",\"qty\":\"12\",\"lot\":\"L1\",\"expiry\":\"2027-01-31\",\"to\":\"WH/Stock\"}]}' http://%s/api/v1/transactions\n",
		cfg.Console.APITokens[0].Token, addr)
	if *scanEvery > 0 {
		fmt.Fprintf(stdout, "  a simulated operator scans a receipt every %s; stop with Ctrl+C\n", *scanEvery)
	} else {
		fmt.Fprintln(stdout, "  stop with Ctrl+C")
	}

	// The broker outlives the daemon, so that the uplink can publish its offline status
	// on the way out.
	bctx, stopBroker := context.WithCancel(context.Background())
	defer stopBroker()
	brokerDone := make(chan error, 1)
	go func() { brokerDone <- embedbroker.Serve(bctx, bln, log.With("component", "broker")) }()

	g, gctx := errgroup.WithContext(ctx)
	if erp != nil {
		g.Go(func() error { return erp.Run(gctx) })
	} else {
		sim := &erpsim.Sim{Broker: brokerURL, Documents: map[string][]byte{cfg.Depot.ID: docs}, Log: log.With("component", "erpsim")}
		g.Go(func() error { return sim.Run(gctx) })
	}
	g.Go(func() error { return sims.run(gctx, *scanEvery) })
	g.Go(func() error { return link.run(gctx) })
	g.Go(func() error { return d.run(gctx) })
	err = g.Wait()
	stopBroker()
	if berr := <-brokerDone; berr != nil && err == nil {
		err = berr
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return fail(err)
	}
	return 0
}
