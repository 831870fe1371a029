// Package firmwareconfig holds the files that ship onto a gateway (the documented default
// config, the demo config, the systemd unit and the udev rules), embedded so that
// `depotd demo` and the tests read exactly what ships. README.md is the install guide.
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

// Unit is depotd.service, the systemd unit.
//
//go:embed depotd.service
var Unit []byte

// UdevRules is 99-depotd.rules.
//
//go:embed 99-depotd.rules
var UdevRules []byte

// InstallGuide is README.md.
//
//go:embed README.md
var InstallGuide []byte

// ERPUnit is depotd-erp.service, the systemd unit of `depotd erp` (the Odoo connector).
//
//go:embed depotd-erp.service
var ERPUnit []byte

// ERPConfig is erp.yaml, the documented default config of `depotd erp` (the Odoo connector).
//
//go:embed erp.yaml
var ERPConfig []byte

// FleetUnit is depotd-fleet.service, the systemd unit of the fleet web page.
//
//go:embed depotd-fleet.service
var FleetUnit []byte

// FleetConfig is fleet.yaml, the documented default config of the fleet web page.
//
//go:embed fleet.yaml
var FleetConfig []byte
