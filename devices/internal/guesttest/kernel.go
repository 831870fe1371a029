package guesttest

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Modules are the kernel modules the guest loads (with their dependencies): the USB host
// controller, USB HID keyboards, evdev, USB serial adapters (FTDI), uhid and uinput.
var Modules = []string{"xhci_pci", "usbhid", "hid_generic", "evdev", "usbserial", "ftdi_sio", "uhid", "uinput"}

// Kernel is an unpacked Debian kernel: its image and the modules to load, in load order.
type Kernel struct {
	Package string   // the linux-image package, e.g. linux-image-6.1.0-57-amd64
	Image   string   // path of vmlinuz
	Modules []string // paths of .ko files, dependencies first
}

// errNoTool marks a missing host tool: the test is skipped, or failed under CI.
var errNoTool = errors.New("tool missing")

// FetchKernel returns the kernel linux-image-amd64 currently points to, from the cache
// directory or else fetched with apt-get download and unpacked with dpkg -x.
func FetchKernel(cacheDir string) (*Kernel, error) {
	for _, tool := range []string{"apt-cache", "apt-get", "dpkg"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s not found (a Debian host is needed to fetch the guest kernel): %w", tool, errNoTool)
		}
	}
	pkg, err := kernelPackage()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(cacheDir, pkg)
	if k, err := cachedKernel(pkg, dir); err == nil {
		return k, nil
	}
	if err := unpackKernel(pkg, dir); err != nil {
		return nil, err
	}
	return cachedKernel(pkg, dir)
}

// kernelPackage resolves the meta package to the versioned image package from apt's
// local lists (no network).
func kernelPackage() (string, error) {
	out, err := exec.Command("apt-cache", "depends", "linux-image-amd64").Output()
	if err != nil {
		return "", fmt.Errorf("apt-cache depends linux-image-amd64: %w", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if dep, ok := strings.CutPrefix(strings.TrimSpace(line), "Depends: "); ok && strings.HasPrefix(dep, "linux-image-") {
			return dep, nil
		}
	}
	return "", fmt.Errorf("apt-cache knows no linux-image-amd64 (run apt-get update): %q", out)
}

// cachedKernel reads a cache entry; the "modules" file is written last, so an entry an
// interrupted run left half-done is not taken.
func cachedKernel(pkg, dir string) (*Kernel, error) {
	list, err := os.ReadFile(filepath.Join(dir, "modules"))
	if err != nil {
		return nil, err
	}
	k := &Kernel{Package: pkg, Image: filepath.Join(dir, "vmlinuz")}
	have := map[string]bool{}
	for _, name := range strings.Fields(string(list)) {
		k.Modules = append(k.Modules, filepath.Join(dir, name+".ko"))
		have[name] = true
	}
	for _, m := range Modules {
		if !have[m] {
			return nil, fmt.Errorf("cached kernel %s lacks module %s", dir, m)
		}
	}
	return k, nil
}

// unpackKernel downloads pkg, unpacks it in a scratch directory and keeps only the image
// and the module closure in dir (the whole module tree is 400 MB).
func unpackKernel(pkg, dir string) error {
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "unpack-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	dl := exec.Command("apt-get", "download", pkg)
	dl.Dir = tmp
	if out, err := dl.CombinedOutput(); err != nil {
		// No package mirror (an offline laptop) is a missing tool, not a broken test.
		return fmt.Errorf("apt-get download %s: %v: %w\n%s", pkg, err, errNoTool, out)
	}
	debs, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if len(debs) != 1 {
		return fmt.Errorf("apt-get download %s: %d .deb files", pkg, len(debs))
	}
	root := filepath.Join(tmp, "root")
	if out, err := exec.Command("dpkg", "-x", debs[0], root).CombinedOutput(); err != nil {
		return fmt.Errorf("dpkg -x %s: %w\n%s", debs[0], err, out)
	}
	images, _ := filepath.Glob(filepath.Join(root, "boot", "vmlinuz-*"))
	mods, _ := filepath.Glob(filepath.Join(root, "lib", "modules", "*", "kernel"))
	if len(images) != 1 || len(mods) != 1 {
		return fmt.Errorf("%s: expected one boot/vmlinuz-* and one lib/modules/*/kernel, found %v %v", pkg, images, mods)
	}
	order, paths, err := moduleClosure(mods[0], Modules)
	if err != nil {
		return fmt.Errorf("%s: %w", pkg, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := copyFile(images[0], filepath.Join(dir, "vmlinuz")); err != nil {
		return err
	}
	for _, name := range order {
		if err := copyFile(paths[name], filepath.Join(dir, name+".ko")); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "modules"), []byte(strings.Join(order, "\n")+"\n"), 0o644)
}

// modName is the kernel's name for a module file: dashes become underscores.
func modName(file string) string {
	return strings.ReplaceAll(strings.TrimSuffix(filepath.Base(file), ".ko"), "-", "_")
}

// moduleClosure finds want and everything they depend on under tree, and orders them so
// that each module comes after its dependencies (what modprobe would do with modules.dep).
func moduleClosure(tree string, want []string) (order []string, paths map[string]string, err error) {
	paths = map[string]string{}
	err = filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".ko") {
			paths[modName(p)] = p
		}
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(name, from string) error
	visit = func(name, from string) error {
		switch state[name] {
		case 1:
			return fmt.Errorf("module dependency cycle at %s", name)
		case 2:
			return nil
		}
		p, ok := paths[name]
		if !ok {
			return fmt.Errorf("module %s (needed by %s) not in the package: built in, or renamed?", name, from)
		}
		state[name] = 1
		deps, err := moduleDepends(p)
		if err != nil {
			return err
		}
		for _, d := range deps {
			if err := visit(d, name); err != nil {
				return err
			}
		}
		state[name] = 2
		order = append(order, name)
		return nil
	}
	sorted := append([]string(nil), want...)
	sort.Strings(sorted)
	for _, w := range sorted {
		if err := visit(w, "the guest"); err != nil {
			return nil, nil, err
		}
	}
	return order, paths, nil
}

// moduleDepends reads the depends= entry of a module's .modinfo section, the same list
// depmod turns into modules.dep.
func moduleDepends(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read module %s: %w", path, err)
	}
	defer f.Close()
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, fmt.Errorf("module %s has no .modinfo", path)
	}
	data, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("read module %s: %w", path, err)
	}
	for _, kv := range bytes.Split(data, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("depends=")); ok {
			if len(v) == 0 {
				return nil, nil
			}
			deps := strings.Split(string(v), ",")
			for i, d := range deps {
				deps[i] = modName(d) // written with dashes or underscores alike
			}
			return deps, nil
		}
	}
	return nil, nil
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}
