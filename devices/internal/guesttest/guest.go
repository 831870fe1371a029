package guesttest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options describe a guest.
type Options struct {
	Kernel *Kernel
	// Busybox is a statically linked busybox (Debian's busybox-static: /bin/busybox).
	Busybox string
	// Files are put into the initramfs at their key (e.g. "bin/depotd"), executable.
	Files map[string]string
	// Devices are QEMU -device arguments present from boot, on the xhci controller "xhci"
	// (e.g. "usb-kbd,id=kbd,bus=xhci.0").
	Devices []string
	// Dir holds the sockets, the initramfs and the console log; short, since a unix
	// socket path must fit in 108 bytes.
	Dir string
	// Udev, when set, is put at UdevChroot for tests of the udev rules.
	Udev *UdevRoot
}

// Guest is a running QEMU guest.
type Guest struct {
	QMP *QMP
	// BootTime is from starting QEMU to the guest's command channel answering, modules
	// loaded.
	BootTime time.Duration
	// ConsoleLog is the guest's console (kernel messages), for failure reports.
	ConsoleLog string

	cmd    *exec.Cmd
	exited chan struct{} // closed once cmd.Wait returned
	qmpC   net.Conn
	ctlC   net.Conn

	runMu   sync.Mutex // one command at a time on the channel
	results chan result
	wg      sync.WaitGroup
}

type result struct {
	out string
	rc  int
	err error
}

// endMark follows every command's output on the channel, with its exit status.
const endMark = "\n@@END@@ "

// initScript runs as PID 1: it mounts the kernel's filesystems, loads the modules and
// serves the command channel on the second serial port. Each command runs in its own
// sh so a failing one cannot end the loop (PID 1 exiting panics the kernel).
const initScript = `#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /tmp /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
for m in $(cat /lib/modules/order); do insmod /lib/modules/$m.ko || echo "guest: insmod $m failed"; done
stty -F /dev/ttyS1 115200 raw -echo
exec sh /control </dev/ttyS1 >/dev/ttyS1 2>&1
`

const controlScript = `printf '@@READY@@\n'
while IFS= read -r line; do
	sh -c "$line" </dev/null
	printf '` + `\n@@END@@ %d\n' $?
done
`

// Boot builds the initramfs, starts QEMU (TCG) and waits until the guest answers on its
// command channel. The caller must Close the guest.
func Boot(ctx context.Context, o Options) (*Guest, error) {
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		return nil, fmt.Errorf("qemu-system-x86_64 not found (Debian: apt-get install qemu-system-x86): %w", errNoTool)
	}
	initrd := filepath.Join(o.Dir, "initramfs.cpio")
	if err := writeInitramfs(initrd, o); err != nil {
		return nil, err
	}
	qmpL, err := net.Listen("unix", filepath.Join(o.Dir, "qmp.sock"))
	if err != nil {
		return nil, err
	}
	defer qmpL.Close()
	ctlL, err := net.Listen("unix", filepath.Join(o.Dir, "ctl.sock"))
	if err != nil {
		return nil, err
	}
	defer ctlL.Close()

	g := &Guest{ConsoleLog: filepath.Join(o.Dir, "console.log"), exited: make(chan struct{}), results: make(chan result, 1)}
	args := []string{
		"-machine", "pc", "-accel", "tcg", "-cpu", "max", "-m", "512", "-smp", "1",
		"-nodefaults", "-display", "none", "-no-reboot",
		"-kernel", o.Kernel.Image, "-initrd", initrd,
		// quiet: the console is a log; panic=-1 with -no-reboot makes a dead guest end QEMU.
		"-append", "console=ttyS0 panic=-1 loglevel=6 8250.nr_uarts=2",
		"-chardev", "file,id=con,path=" + g.ConsoleLog, "-serial", "chardev:con",
		"-chardev", "socket,id=ctl,path=" + ctlL.Addr().String(), "-serial", "chardev:ctl",
		"-chardev", "socket,id=qmp,path=" + qmpL.Addr().String(), "-mon", "chardev=qmp,mode=control",
		"-device", "qemu-xhci,id=xhci",
	}
	for _, d := range o.Devices {
		args = append(args, "-device", d)
	}
	g.cmd = exec.Command("qemu-system-x86_64", args...)
	var qemuOut bytes.Buffer
	g.cmd.Stdout, g.cmd.Stderr = &qemuOut, &qemuOut
	start := time.Now()
	if err := g.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start qemu: %w", err)
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		_ = g.cmd.Wait() // the exit shows as the channels closing
		close(g.exited)
	}()
	fail := func(err error) (*Guest, error) {
		g.Close()
		return nil, fmt.Errorf("%w\nqemu: %s\nconsole: %s", err, qemuOut.String(), tail(g.ConsoleLog, 3000))
	}
	if g.qmpC, err = accept(ctx, qmpL, g.exited); err != nil {
		return fail(fmt.Errorf("qmp: %w", err))
	}
	if g.QMP, err = newQMP(g.qmpC); err != nil {
		return fail(err)
	}
	if g.ctlC, err = accept(ctx, ctlL, g.exited); err != nil {
		return fail(fmt.Errorf("command channel: %w", err))
	}
	ready := make(chan struct{})
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		g.readChannel(ready)
	}()
	select {
	case <-ready:
	case <-g.exited:
		return fail(errors.New("qemu exited during boot"))
	case <-ctx.Done():
		return fail(fmt.Errorf("boot: %w", ctx.Err()))
	}
	g.BootTime = time.Since(start)
	return g, nil
}

func accept(ctx context.Context, l net.Listener, exited <-chan struct{}) (net.Conn, error) {
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() { c, err := l.Accept(); ch <- res{c, err} }() // ends when Boot closes l
	select {
	case r := <-ch:
		return r.c, r.err
	case <-exited:
		return nil, errors.New("qemu exited")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func writeInitramfs(path string, o Options) error {
	files := map[string]cpioFile{
		"init":    {Mode: 0o755, Data: []byte(initScript)},
		"control": {Mode: 0o644, Data: []byte(controlScript)},
	}
	add := func(name, from string) error {
		b, err := os.ReadFile(from)
		if err != nil {
			return err
		}
		files[name] = cpioFile{Mode: 0o755, Data: b}
		return nil
	}
	if err := add("bin/busybox", o.Busybox); err != nil {
		return fmt.Errorf("busybox: %w", err)
	}
	var order []string
	for _, m := range o.Kernel.Modules {
		name := strings.TrimSuffix(filepath.Base(m), ".ko")
		if err := add("lib/modules/"+name+".ko", m); err != nil {
			return err
		}
		order = append(order, name)
	}
	files["lib/modules/order"] = cpioFile{Mode: 0o644, Data: []byte(strings.Join(order, "\n") + "\n")}
	if o.Udev != nil {
		for name, f := range o.Udev.files {
			files[strings.TrimPrefix(UdevChroot, "/")+"/"+name] = f
		}
	}
	for name, from := range o.Files {
		if err := add(name, from); err != nil {
			return err
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := writeCPIO(w, files); err != nil {
		f.Close()
		return fmt.Errorf("write initramfs: %w", err)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// readChannel splits the channel into command results; ready is closed at the guest's
// first line.
func (g *Guest) readChannel(ready chan struct{}) {
	r := bufio.NewReader(g.ctlC)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			g.results <- result{err: fmt.Errorf("command channel: %w", err)}
			return
		}
		if line == "@@READY@@\n" {
			close(ready)
			break
		}
	}
	var out strings.Builder
	for {
		line, err := r.ReadString('\n')
		out.WriteString(line)
		if err != nil {
			g.results <- result{out: out.String(), err: fmt.Errorf("command channel: %w", err)}
			return
		}
		s := out.String()
		i := strings.LastIndex(s, endMark)
		if i < 0 || !strings.HasSuffix(s, "\n") {
			continue
		}
		rc, perr := strconv.Atoi(strings.TrimSpace(s[i+len(endMark):]))
		if perr != nil {
			continue // the marker text inside a command's output
		}
		out.Reset()
		g.results <- result{out: s[:i], rc: rc}
	}
}

// ErrExit is wrapped by Run's error when the command exited non-zero.
var ErrExit = errors.New("guest command failed")

// Run runs one shell command line in the guest and returns its output (stdout and
// stderr); a non-zero exit status is an error wrapping ErrExit, with the output.
func (g *Guest) Run(ctx context.Context, cmd string) (string, error) {
	if strings.ContainsAny(cmd, "\n\r") {
		return "", fmt.Errorf("guest command %q: one line only", cmd)
	}
	g.runMu.Lock()
	defer g.runMu.Unlock()
	if _, err := g.ctlC.Write([]byte(cmd + "\n")); err != nil {
		return "", fmt.Errorf("guest command %q: %w", cmd, err)
	}
	select {
	case r := <-g.results:
		switch {
		case r.err != nil:
			return r.out, fmt.Errorf("guest command %q: %w", cmd, r.err)
		case r.rc != 0:
			return r.out, fmt.Errorf("guest command %q: exit %d (%w): %s", cmd, r.rc, ErrExit, r.out)
		}
		return r.out, nil
	case <-ctx.Done():
		// The answer may still come and would be taken for the next command's: the
		// channel is unusable from here on.
		g.ctlC.Close()
		return "", fmt.Errorf("guest command %q: %w", cmd, ctx.Err())
	}
}

// WriteFile puts data at path in the guest.
func (g *Guest) WriteFile(ctx context.Context, path string, data []byte) error {
	_, err := g.Run(ctx, fmt.Sprintf("echo %s | base64 -d > %s", base64.StdEncoding.EncodeToString(data), path))
	return err
}

// Close stops QEMU and waits for everything Boot started.
func (g *Guest) Close() {
	if g.QMP != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, _ = g.QMP.Execute(ctx, "quit", nil) // the guest is going anyway
		cancel()
	}
	select {
	case <-g.exited:
	case <-time.After(10 * time.Second):
		_ = g.cmd.Process.Kill()
	}
	for _, c := range []net.Conn{g.qmpC, g.ctlC} {
		if c != nil {
			c.Close()
		}
	}
	if g.QMP != nil {
		<-g.QMP.done
	}
	// readChannel may be blocked handing over a result nobody asked for.
	go func() {
		for range g.results {
		}
	}()
	g.wg.Wait()
	close(g.results)
}

// DeviceAdd plugs a device in (QMP device_add); props are its QEMU properties.
func (g *Guest) DeviceAdd(ctx context.Context, driver, id string, props map[string]any) error {
	args := map[string]any{"driver": driver, "id": id}
	for k, v := range props {
		args[k] = v
	}
	_, err := g.QMP.Execute(ctx, "device_add", args)
	return err
}

// DeviceDel unplugs a device and waits until QEMU reports it gone (the guest has let go).
func (g *Guest) DeviceDel(ctx context.Context, id string) error {
	if _, err := g.QMP.Execute(ctx, "device_del", map[string]any{"id": id}); err != nil {
		return err
	}
	return g.QMP.WaitEvent(ctx, "DEVICE_DELETED", func(d json.RawMessage) bool {
		var v struct {
			Device string `json:"device"`
		}
		return json.Unmarshal(d, &v) == nil && v.Device == id
	})
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// ConsoleTail is the end of the guest's console, for a failing test's report.
func (g *Guest) ConsoleTail() string { return tail(g.ConsoleLog, 4000) }
