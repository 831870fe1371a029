// Package devices holds what every device driver shares: the events drivers deliver
// (Scan, BadScan, Weight, DeviceState), the Driver and Sink interfaces, and the supervisor
// that owns reconnects. Each device family lives in a subpackage made of a pure decoder
// (fuzzed, no I/O) and a thin I/O shell.
//
// devices imports nothing else of depotd: edge and cmd/depotd consume these types.
package devices
