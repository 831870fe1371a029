// Package guesttest boots a real Linux kernel in QEMU for the device drivers' integration
// tests: the parts only a kernel exercises (EVIOCGRAB on a USB keyboard, /dev/ttyUSB* of
// a USB serial adapter, hot-plug, the shipped udev rules) run there against depotd itself.
//
// Everything comes from Debian's packages through apt: qemu-system-x86 and busybox-static
// on the host, and a linux-image-*-amd64 package fetched with `apt-get download` and
// unpacked with `dpkg -x` (never installed). The kernel and the modules the tests need
// are kept in the user's cache directory between runs. The guest is an initramfs written
// here (cpio newc): busybox, the modules (loaded in modules.dep order, resolved from each
// module's own modinfo since the package ships no modules.dep), and the static depotd
// binary under test.
//
// The udev rules run in Debian's own systemd-udevd: FetchUdevRoot builds a minimal
// Debian root with mmdebstrap (variant essential plus udev, so udev's maintainer scripts
// create the input group as on a gateway) once, caches the tarball beside the kernel, and
// puts the udev package's files, the libraries udevadm links and the root's passwd and
// group files into the initramfs at UdevChroot. The test chroots there with the guest's
// /dev, /sys and /proc mounted in, so the links and permissions udevd makes are the
// guest's. Booting the whole root instead would need a block device and its modules,
// and 130 MB through TCG, for the same udevd and rules.
//
// QEMU runs with TCG (no KVM), a qemu-xhci controller and a QMP socket. The guest's first
// serial port is its console (kept as a log file); the second carries a command channel:
// the host writes one shell command line, the guest answers with its output and an end
// marker carrying the exit status. Long-running programs (depotd devices watch) run in
// the background with their output in a file the test reads back.
//
// Require skips a test when qemu or apt is missing, and fails it instead when
// DEPOTD_INTEGRATION=1 (CI, which installs them).
//
// Concurrency: a Guest's methods are safe for concurrent use; commands are serialised
// over the one channel. Boot starts QEMU and a goroutine reading the channel; Close stops
// both and waits for them.
package guesttest
