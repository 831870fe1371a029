package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	firmwareconfig "github.com/depotd/depotd/firmware-config"
)

func init() {
	register("demo", "run the appliance on its embedded demo config, console on 127.0.0.1:8080", demoCmd)
}

func demoCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("depotd demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "console and API address")
	dataDir := fs.String("data-dir", "", "keep the demo's data here (default: a temporary directory, removed at exit)")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log, err := newLogger(stderr, *level, "text")
	if err != nil {
		fmt.Fprintln(stderr, "depotd demo:", err)
		return 2
	}
	cfg, err := parseConfig(bytes.NewReader(firmwareconfig.DemoConfig))
	if err != nil {
		fmt.Fprintln(stderr, "depotd demo: embedded demo config:", err)
		return 1
	}
	cfg.Console.Listen = *listen
	if *dataDir != "" {
		cfg.DataDir = *dataDir
	} else {
		tmp, err := os.MkdirTemp("", "depotd-demo-*")
		if err != nil {
			fmt.Fprintln(stderr, "depotd demo:", err)
			return 1
		}
		defer os.RemoveAll(tmp)
		cfg.DataDir = tmp
	}
	d, err := openDaemon(cfg, log)
	if err != nil {
		fmt.Fprintln(stderr, "depotd demo:", err)
		return 1
	}
	addr := d.ln.Addr().String()
	fmt.Fprintf(stdout, "depotd demo: depot %s, data in %s\n", cfg.Depot.ID, cfg.DataDir)
	fmt.Fprintf(stdout, "  console and API: http://%s/  (health: http://%s/healthz)\n", addr, addr)
	fmt.Fprintf(stdout, "  API tokens: operator %s, supervisor %s, admin %s\n",
		cfg.Console.APITokens[0].Token, cfg.Console.APITokens[1].Token, cfg.Console.APITokens[2].Token)
	fmt.Fprintf(stdout, "  try: curl -s -H 'Authorization: Bearer %s' -d '{\"id\":\"r1\",\"type\":\"receipt\",\"lines\":[{\"item\":\"SKU-1\",\"qty\":\"12\",\"to\":\"WH/Stock\"}]}' http://%s/api/v1/transactions\n",
		cfg.Console.APITokens[0].Token, addr)
	fmt.Fprintln(stdout, "  stop with Ctrl+C")
	if err := d.run(ctx); err != nil {
		fmt.Fprintln(stderr, "depotd demo:", err)
		return 1
	}
	return 0
}
