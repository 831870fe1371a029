// Package hidpos reads USB HID point-of-sale scales (HID usage page 0x8D: Dymo M10/M25/S180,
// Stamps.com, Mettler Toledo, Fairbanks and Pitney Bowes postal scales) through Linux
// /dev/hidraw* nodes.
//
// It is a pure decoder of the Scale Data Report (Decode, fuzzed, no I/O) and a thin I/O
// shell (Driver) that reads one report per read(2) from the hidraw node, plus ReadReports,
// the read loop on any io.Reader, so the shell is tested from recorded reports in a pipe
// exactly as it runs on a hidraw node.
//
// Report layout (reference devices.md §1.7; erjiang/usbscale usbscale.c; HID Point of Sale
// usage tables, Scale Data Report): [0] report ID 3 (4 accepted), [1] status 1..8 = usages
// 0x71..0x78, [2] unit 1..12 = usages 0x51..0x5C, [3] int8 base-10 exponent, [4..5] uint16
// weight little-endian. Only g, kg, oz and lb are accepted; other units are reported as an
// error reading naming the unit.
//
// No goroutine outlives Run. Hidraw needs no library: plain reads and writes on the node.
package hidpos
