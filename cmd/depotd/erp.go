package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

func init() {
	register("erp", "the ERP end of the uplink (Odoo): depotd erp [run] --config PATH; erp config check|setup --config PATH", erpCmd)
}

const erpUsage = `usage:
  depotd erp [run] --config PATH [--log-level info] [--log-format text]
                                          the connector: consume the depots' transactions, post
                                          them into Odoo exactly once, ack; SIGTERM stops it
  depotd erp config check --config PATH   check erp.yaml; every problem with its key path
  depotd erp setup --config PATH          prepare the Odoo database (idempotent; says what it did)

erp.yaml is documented in firmware-config/erp.yaml.`

func erpCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	switch {
	case len(args) >= 2 && args[0] == "config" && args[1] == "check":
		return erpConfigCheck(args[2:], stdout, stderr)
	case len(args) >= 1 && args[0] == "setup":
		return erpSetupCmd(ctx, args[1:], stdout, stderr)
	case len(args) == 1 && (args[0] == "-h" || args[0] == "--help"):
		fmt.Fprintln(stdout, erpUsage)
		return 0
	case len(args) >= 1 && args[0] == "run":
		return erpRunCmd(ctx, args[1:], stderr)
	case len(args) >= 1 && strings.HasPrefix(args[0], "-"):
		return erpRunCmd(ctx, args, stderr)
	}
	fmt.Fprintln(stderr, erpUsage)
	return 2
}

// erpConfigFlag parses --config for an erp subcommand.
func erpConfigFlag(name string, args []string, stderr io.Writer) (string, int) {
	fs := flag.NewFlagSet("depotd erp "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "/etc/depotd/erp.yaml", "erp.yaml")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return "", 0
		}
		return "", 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "depotd erp %s: unexpected argument %q\n", name, fs.Arg(0))
		return "", 2
	}
	return *path, -1
}

// loadERPConfigReport loads path and prints its problems the way `depotd config check`
// does; ok is false when there were any.
func loadERPConfigReport(path string, stderr io.Writer) (*ERPConfig, bool) {
	cfg, err := loadERPConfig(path)
	if printConfigError(path, err, stderr) {
		return nil, false
	}
	return cfg, true
}

func erpConfigCheck(args []string, stdout, stderr io.Writer) int {
	path, code := erpConfigFlag("config check", args, stderr)
	if code >= 0 {
		return code
	}
	if _, ok := loadERPConfigReport(path, stderr); !ok {
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok\n", path)
	return 0
}
