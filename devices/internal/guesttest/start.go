package guesttest

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Start fetches the kernel (cached), builds the static depotd, and boots a guest with
// devices plugged in from boot, depotd at /bin/depotd, and udev (when not nil) at
// UdevChroot. dir must be short (sockets live there).
func Start(ctx context.Context, dir string, udev *UdevRoot, devices ...string) (*Guest, error) {
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		return nil, fmt.Errorf("qemu-system-x86_64 not found (Debian: apt-get install qemu-system-x86): %w", errNoTool)
	}
	bb, err := Busybox()
	if err != nil {
		return nil, err
	}
	cache, err := CacheDir()
	if err != nil {
		return nil, err
	}
	k, err := FetchKernel(cache)
	if err != nil {
		return nil, err
	}
	depotd := filepath.Join(dir, "depotd")
	if err := BuildDepotd(ctx, depotd); err != nil {
		return nil, err
	}
	return Boot(ctx, Options{Kernel: k, Busybox: bb, Dir: dir, Devices: devices, Udev: udev, Files: map[string]string{"bin/depotd": depotd}})
}

// CacheDir is where unpacked kernels and the udev root are kept between runs:
// depotd/guest-kernel in the user's cache directory.
func CacheDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory for the guest kernel: %w", err)
	}
	d = filepath.Join(d, "depotd", "guest-kernel")
	return d, os.MkdirAll(d, 0o755)
}

// Busybox finds a statically linked busybox (Debian's busybox-static installs one at
// /bin/busybox; the dynamic busybox package would not run in a guest without libc).
func Busybox() (string, error) {
	for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
		f, err := elf.Open(p)
		if err != nil {
			continue
		}
		static := true
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_INTERP {
				static = false
			}
		}
		f.Close()
		if static {
			return p, nil
		}
	}
	return "", fmt.Errorf("no static busybox (Debian: apt-get install busybox-static): %w", errNoTool)
}

// BuildDepotd builds the static depotd the guest runs, from the module the test runs in.
func BuildDepotd(ctx context.Context, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "github.com/depotd/depotd/cmd/depotd")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build static depotd: %w\n%s", err, b)
	}
	return nil
}

// Require ends tb when err means the guest cannot run: a skip naming the missing tool,
// or a failure under DEPOTD_INTEGRATION=1 (CI installs the tools); any other error fails.
func Require(tb testing.TB, err error) {
	tb.Helper()
	if err == nil {
		return
	}
	if errors.Is(err, errNoTool) {
		if os.Getenv("DEPOTD_INTEGRATION") == "1" {
			tb.Fatalf("guest kernel test: %v; DEPOTD_INTEGRATION=1 requires it", err)
		}
		tb.Skipf("guest kernel test: %v; set DEPOTD_INTEGRATION=1 to make this a failure", err)
	}
	tb.Fatalf("guest kernel test: %v", err)
}
