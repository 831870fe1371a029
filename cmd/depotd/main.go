// Command depotd runs a warehouse depot's gateway: scanners and scales in, a durable local
// journal, MQTT store-and-forward to the ERP. See README.md and `depotd help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
