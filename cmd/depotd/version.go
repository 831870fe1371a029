package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is set at build time: go build -ldflags "-X main.version=1.2.3".
var version = ""

func init() {
	register("version", "print the version and build information", versionCmd)
}

// versionString is the -ldflags version, or the module version and VCS revision that the Go
// toolchain recorded.
func versionString() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += "+" + s.Value[:12]
		}
	}
	return v
}

func versionCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "usage: depotd version")
		return 2
	}
	fmt.Fprintf(stdout, "depotd %s\n", versionString())
	ld := version
	if ld == "" {
		ld = "(not set)"
	}
	fmt.Fprintf(stdout, "  ldflags version: %s\n", ld)
	if bi, ok := debug.ReadBuildInfo(); ok {
		fmt.Fprintf(stdout, "  module: %s %s\n", bi.Main.Path, bi.Main.Version)
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision", "vcs.time", "vcs.modified", "CGO_ENABLED", "GOARCH", "GOOS", "GOARM":
				fmt.Fprintf(stdout, "  %s: %s\n", s.Key, s.Value)
			}
		}
	}
	fmt.Fprintf(stdout, "  go: %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return 0
}
