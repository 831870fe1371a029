// Package drivers picks the driver family for a devices.Config entry: serial or
// keyboard-wedge scanner, serial or HID scale. It is the one place that knows every
// family, so cmd/depotd and the demo build drivers without a switch of their own.
//
// Contract: New returns a driver that has not opened anything yet, or every config
// problem of the entry joined in one error; Check reports the same problems with their
// key paths for config validation. Stateless and safe for concurrent use.
package drivers
