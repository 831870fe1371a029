// Package sim simulates depotd's serial devices on real pseudo-terminals, byte for byte as
// their manuals specify, for `depotd demo` and for tests. A driver under test opens the
// simulator's Link path with the same code (tarm/serial) it uses for real hardware.
//
// Port (pty.go) is the shared base: a pty pair plus a stable symlink standing in for a
// /dev/serial/by-id path, with Unplug and Replug for hot-plug tests. Scanner (scanner.go)
// sends barcode frames; the scale simulators live in scale*.go.
//
// Concurrency: every type here is safe for concurrent use; simulators that run a loop do
// so in Run(ctx), which returns when ctx is done. Nothing here is for production use.
package sim
