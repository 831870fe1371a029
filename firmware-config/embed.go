// Package firmwareconfig holds the files that ship onto a gateway (the documented default
// config, the demo config, and later the systemd unit and udev rules), embedded so that
// `depotd demo` and the tests read exactly what ships.
package firmwareconfig

import _ "embed"

// DefaultConfig is depotd.yaml: every key documented with its default.
//
//go:embed depotd.yaml
var DefaultConfig []byte

// DemoConfig is what `depotd demo` runs on.
//
//go:embed demo.yaml
var DemoConfig []byte
