// Package evdev reads USB HID keyboard-wedge barcode scanners on Linux from their evdev
// node (/dev/input/by-id/usb-...-event-kbd).
//
// Decoder is pure (no I/O, fuzzed): it turns struct input_event records (24 bytes on
// 64-bit, 16 on 32-bit ARM; EventSize is this machine's) into scans, tracking Shift,
// AltGr, Ctrl and Alt itself because a grabbed device bypasses the console keymap. Key
// codes are positions, so the configured Layout (us, de, fr) must be the one the scanner
// types in. GS (FNC1) arrives as Ctrl+] (key codes 29 + 27, reference §2.2; matched by
// position in every layout, since control-character emulation sends the US position),
// as Alt+029 on the keypad, or as a configured substitute character. Enter or keypad Enter ends a scan. Each line then goes through
// serialscan.CheckFrame, so prefix, AIM identifier, max length and control-byte rules are
// the serial scanners' own. Dead keys followed by space give the accent itself; other
// compositions are not performed (barcode content is ASCII).
//
// Driver is the I/O shell: it opens the node, grabs it with EVIOCGRAB so scans do not type
// into a console or X session, and reads with a deadline so ctx stops it. Unplugging makes
// reads fail with ENODEV; Run then returns an error wrapping devices.ErrGone and the
// supervisor reopens the by-id path when it returns.
//
// Recorded streams for each layout live in testdata/ (regenerate with
// `go run gen_recordings.go` in this directory); the recordings are little-endian, as are
// all platforms depotd runs on.
//
// Concurrency: a Decoder is for one goroutine; Run starts no goroutines.
package evdev
