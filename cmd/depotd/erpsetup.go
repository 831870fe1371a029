package main

import (
	"context"
	"fmt"
	"io"
)

func erpSetupCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	path, code := erpConfigFlag("setup", args, stderr)
	if code >= 0 {
		return code
	}
	if _, ok := loadERPConfigReport(path, stderr); !ok {
		return 1
	}
	fmt.Fprintln(stderr, "depotd erp setup: not implemented yet")
	return 1
}
