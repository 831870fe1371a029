package guesttest

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
)

// UdevChroot is where the guest finds Debian's udev: a directory of the initramfs the
// guest chroots into to run systemd-udevd and udevadm on its own /dev, /sys and /proc.
const UdevChroot = "/udevroot"

// UdevRoot is Debian's udev out of a minimal Debian root built with mmdebstrap: the udev
// package's files (its binaries and Debian's rules, hwdb excepted), the shared libraries
// udevadm links, and the root's /etc/passwd and /etc/group (udev resolves GROUP= there).
type UdevRoot struct {
	Tarball string // the cached mmdebstrap root
	// Groups maps the root's group names to their ids, to check what the rules grant.
	Groups map[string]int
	files  map[string]cpioFile
}

// FetchUdevRoot returns the udev root of the host's Debian release, from the cache
// directory or else built with mmdebstrap (Debian's packages only; ~30 s and 130 MB,
// once) and cached there as a tarball.
func FetchUdevRoot(ctx context.Context, cacheDir string) (*UdevRoot, error) {
	suite, err := debianSuite()
	if err != nil {
		return nil, err
	}
	tarball := filepath.Join(cacheDir, "udev-root-"+suite+".tar")
	if _, err := os.Stat(tarball); err != nil {
		if err := buildUdevRoot(ctx, suite, tarball); err != nil {
			return nil, err
		}
	}
	return readUdevRoot(tarball)
}

// debianSuite is the host's release codename (the guest kernel is the host's too).
func debianSuite() (string, error) {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return "", fmt.Errorf("no /etc/os-release (a Debian host is needed to build the udev root): %w", errNoTool)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VERSION_CODENAME="); ok && v != "" {
			return strings.Trim(v, `"`), nil
		}
	}
	return "", fmt.Errorf("/etc/os-release names no VERSION_CODENAME: %w", errNoTool)
}

func buildUdevRoot(ctx context.Context, suite, tarball string) error {
	if _, err := exec.LookPath("mmdebstrap"); err != nil {
		return fmt.Errorf("mmdebstrap not found (Debian: apt-get install mmdebstrap): %w", errNoTool)
	}
	// mmdebstrap picks the output format by the name's extension.
	tmp := strings.TrimSuffix(tarball, ".tar") + ".part.tar"
	// essential + udev: udev's maintainer scripts run, so the root's /etc/group holds the
	// input group they add, as on an installed gateway. Docs and locales are not needed.
	cmd := exec.CommandContext(ctx, "mmdebstrap", "--variant=essential", "--include=udev",
		"--dpkgopt=path-exclude=/usr/share/doc/*", "--dpkgopt=path-exclude=/usr/share/man/*",
		"--dpkgopt=path-exclude=/usr/share/locale/*", suite, tmp)
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(tmp)
		// No package mirror (an offline laptop) is a missing tool, not a broken test.
		return fmt.Errorf("mmdebstrap %s: %v: %w\n%s", suite, err, errNoTool, lastBytes(out, 3000))
	}
	return os.Rename(tmp, tarball)
}

func lastBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

type tarEntry struct {
	typ  byte
	mode int64
	link string
	data []byte
}

// readUdevRoot picks the udev root's files out of the tarball.
func readUdevRoot(tarball string) (*UdevRoot, error) {
	f, err := os.Open(tarball)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	entries := map[string]tarEntry{}
	tr := tar.NewReader(bufio.NewReaderSize(f, 1<<20))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", tarball, err)
		}
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		e := tarEntry{typ: h.Typeflag, mode: h.Mode, link: h.Linkname}
		// Contents only where they may be needed: the root is 130 MB, its udev part a tenth.
		if h.Typeflag == tar.TypeReg && wantContents(name) {
			if e.data, err = io.ReadAll(tr); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", tarball, name, err)
			}
		}
		entries[name] = e
	}
	r := &UdevRoot{Tarball: tarball, files: map[string]cpioFile{}, Groups: map[string]int{}}
	list, ok := entries["var/lib/dpkg/info/udev.list"]
	if !ok {
		return nil, fmt.Errorf("%s holds no udev package (var/lib/dpkg/info/udev.list): remove it to rebuild", tarball)
	}
	var add func(name string, depth int) error
	add = func(name string, depth int) error {
		if depth > 16 {
			return fmt.Errorf("%s: symlink loop at %s", tarball, name)
		}
		name = resolveDirs(entries, name)
		e, ok := entries[name]
		if !ok {
			return fmt.Errorf("%s: %s missing", tarball, name)
		}
		if _, done := r.files[name]; done {
			return nil
		}
		switch e.typ {
		case tar.TypeDir:
			r.files[name] = cpioFile{Dir: true, Mode: uint32(e.mode)}
		case tar.TypeSymlink:
			r.files[name] = cpioFile{Link: e.link}
			target := e.link
			if !path.IsAbs(target) {
				target = path.Join(path.Dir(name), target)
			}
			return add(strings.TrimPrefix(path.Clean(target), "/"), depth+1)
		case tar.TypeReg:
			r.files[name] = cpioFile{Mode: uint32(e.mode), Data: e.data}
		}
		return nil
	}
	// The merged-/usr links first: the udev package lists /lib/udev/... paths.
	for _, l := range []string{"bin", "sbin", "lib", "lib64"} {
		if e, ok := entries[l]; ok && e.typ == tar.TypeSymlink {
			r.files[l] = cpioFile{Link: e.link}
		}
	}
	for _, p := range strings.Split(string(list.data), "\n") {
		p = strings.TrimPrefix(p, "/")
		if p == "" || p == "." || skipUdevFile(p) {
			continue
		}
		if err := add(p, 0); err != nil {
			return nil, err
		}
	}
	for _, p := range []string{"etc/passwd", "etc/group"} {
		if err := add(p, 0); err != nil {
			return nil, err
		}
	}
	if err := addLibraries(entries, "usr/bin/udevadm", add); err != nil {
		return nil, fmt.Errorf("%s: %w", tarball, err)
	}
	for _, line := range strings.Split(string(entries["etc/group"].data), "\n") {
		if f := strings.Split(line, ":"); len(f) >= 3 {
			var id int
			if _, err := fmt.Sscan(f[2], &id); err == nil {
				r.Groups[f[0]] = id
			}
		}
	}
	return r, nil
}

// resolveDirs follows symlinked parent directories (lib -> usr/lib) to the tar's name.
func resolveDirs(entries map[string]tarEntry, name string) string {
	parts := strings.Split(name, "/")
	for i := 1; i < len(parts); i++ {
		dir := strings.Join(parts[:i], "/")
		if e, ok := entries[dir]; ok && e.typ == tar.TypeSymlink {
			target := e.link
			if !path.IsAbs(target) {
				target = path.Join(path.Dir(dir), target)
			}
			return resolveDirs(entries, strings.TrimPrefix(path.Clean(target+"/"+strings.Join(parts[i:], "/")), "/"))
		}
	}
	return name
}

func wantContents(name string) bool {
	return strings.HasPrefix(name, "usr/lib/udev/") || strings.HasPrefix(name, "usr/bin/") ||
		strings.HasPrefix(name, "usr/lib/x86_64-linux-gnu/") || strings.HasPrefix(name, "usr/lib64/") ||
		strings.HasPrefix(name, "etc/") || strings.HasPrefix(name, "usr/lib/systemd/") ||
		strings.HasPrefix(name, "usr/sbin/") || name == "var/lib/dpkg/info/udev.list"
}

// skipUdevFile leaves out what the guest does not need: the hardware database (13 MB,
// only names vendors), documentation and init scripts.
func skipUdevFile(p string) bool {
	for _, pre := range []string{"usr/lib/udev/hwdb", "usr/share/", "etc/init.d", "usr/lib/systemd/system/", "lib/systemd/system/"} {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	return false
}

// addLibraries adds the shared libraries bin needs (DT_NEEDED, transitively) and the
// dynamic loader, found where Debian's amd64 loader looks.
func addLibraries(entries map[string]tarEntry, bin string, add func(string, int) error) error {
	seen := map[string]bool{}
	var visit func(name string) error
	visit = func(name string) error {
		name = resolveDirs(entries, name)
		for i := 0; i < 16; i++ { // to the file behind the symlinks
			e := entries[name]
			if e.typ != tar.TypeSymlink {
				break
			}
			t := e.link
			if !path.IsAbs(t) {
				t = path.Join(path.Dir(name), t)
			}
			name = resolveDirs(entries, strings.TrimPrefix(path.Clean(t), "/"))
		}
		if seen[name] {
			return nil
		}
		seen[name] = true
		e, ok := entries[name]
		if !ok || e.data == nil {
			return fmt.Errorf("%s missing", name)
		}
		f, err := elf.NewFile(bytes.NewReader(e.data))
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		defer f.Close()
		libs, err := f.ImportedLibraries()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if interp := f.Section(".interp"); interp != nil {
			b, _ := interp.Data()
			loader := strings.TrimPrefix(strings.TrimRight(string(b), "\x00"), "/")
			if err := add(loader, 0); err != nil {
				return err
			}
		}
		for _, l := range libs {
			p := "usr/lib/x86_64-linux-gnu/" + l
			if _, ok := entries[p]; !ok {
				return fmt.Errorf("%s needs %s, not in usr/lib/x86_64-linux-gnu", name, l)
			}
			if err := add(p, 0); err != nil {
				return err
			}
			if err := visit(p); err != nil {
				return err
			}
		}
		return nil
	}
	return visit(bin)
}
