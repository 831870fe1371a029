package main

import (
	"context"
	"errors"
	"fmt"
	"io"
)

func init() {
	register("config", "check a config file: depotd config check PATH", configCmd)
}

func configCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) != 2 || args[0] != "check" {
		fmt.Fprintln(stderr, "usage: depotd config check PATH\n\nReports every problem in the config with its key path; exits 1 if there is any.")
		if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
			return 0
		}
		return 2
	}
	if _, err := loadConfig(args[1]); printConfigError(args[1], err, stderr) {
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok\n", args[1])
	return 0
}

// printConfigError prints a config's problems one per line under its path (or any other
// error as it is) and says whether there was one.
func printConfigError(path string, err error, stderr io.Writer) bool {
	var ce *ConfigError
	switch {
	case errors.As(err, &ce):
		fmt.Fprintf(stderr, "%s: %d problem(s):\n", path, len(ce.Problems))
		for _, p := range ce.Problems {
			fmt.Fprintf(stderr, "  %s\n", p)
		}
	case err != nil:
		fmt.Fprintln(stderr, err)
	}
	return err != nil
}
