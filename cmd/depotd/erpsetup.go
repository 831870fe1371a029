package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/depotd/depotd/uplink/odoo"
)

func erpSetupCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	path, code := erpConfigFlag("setup", args, stderr)
	if code >= 0 {
		return code
	}
	cfg, ok := loadERPConfigReport(path, stderr)
	if !ok {
		return 1
	}
	c, err := cfg.Odoo.Client()
	if err != nil {
		fmt.Fprintln(stderr, "depotd erp setup:", err)
		return 1
	}
	start := time.Now()
	steps, err := odoo.Setup(ctx, c, cfg.Depots)
	changes := 0
	for _, s := range steps {
		fmt.Fprintln(stdout, s)
		if s.Changed {
			changes++
		}
	}
	if err != nil {
		var se *odoo.SetupError
		if errors.As(err, &se) {
			fmt.Fprintln(stderr, "depotd erp setup: refused:", se.Msg)
		} else {
			fmt.Fprintln(stderr, "depotd erp setup:", err)
		}
		if changes > 0 {
			fmt.Fprintf(stderr, "depotd erp setup: %d change(s) were made before that; running setup again after the fix is safe\n", changes)
		}
		return 1
	}
	took := time.Since(start).Round(10 * time.Millisecond)
	if changes == 0 {
		fmt.Fprintf(stdout, "Odoo is ready for %d depot(s): nothing to change (%v)\n", len(cfg.Depots), took)
	} else {
		fmt.Fprintf(stdout, "Odoo is ready for %d depot(s): %d change(s) made (%v)\n", len(cfg.Depots), changes, took)
	}
	return 0
}
