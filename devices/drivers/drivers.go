package drivers

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/depotd/depotd/devices"
	"github.com/depotd/depotd/devices/evdev"
	"github.com/depotd/depotd/devices/hidpos"
	"github.com/depotd/depotd/devices/scale"
	"github.com/depotd/depotd/devices/serialscan"
)

// Family is the transport and decoder a device entry uses.
type Family string

const (
	SerialScanner Family = "serial-scanner"
	WedgeScanner  Family = "evdev-scanner"
	SerialScale   Family = "serial-scale"
	HIDScale      Family = "hid-scale"
)

// ErrHIDScanner: a scanner configured on a hidraw node. HID POS scanner mode is not
// supported; set the scanner to keyboard (evdev) or USB-CDC (serial) mode.
var ErrHIDScanner = errors.New("scanners in HID POS mode are not supported: switch the scanner to keyboard or USB-CDC (virtual COM) mode")

// FamilyOf decides the family from kind, protocol and port. A scanner is keyboard-wedge
// when protocol is "evdev" or its port is an input event node
// (/dev/input/..., or a name with "event" in it such as usb-...-event-kbd); otherwise serial.
func FamilyOf(c *devices.Config) (Family, error) {
	switch c.Kind {
	case devices.KindScale:
		if c.Protocol == scale.HIDPOS {
			return HIDScale, nil
		}
		return SerialScale, nil
	case devices.KindScanner:
		switch c.Protocol {
		case "evdev":
			return WedgeScanner, nil
		case "serial":
			return SerialScanner, nil
		}
		base := filepath.Base(c.Port)
		switch {
		case strings.HasPrefix(c.Port, "/dev/input/"), strings.Contains(base, "event"):
			return WedgeScanner, nil
		case strings.HasPrefix(base, "hidraw"):
			return "", ErrHIDScanner
		}
		return SerialScanner, nil
	}
	return "", fmt.Errorf("unknown kind %q (scanner or scale)", c.Kind)
}

// Check reports every problem of the entry at path ("devices[2]"): the common checks
// and its family's.
func Check(c *devices.Config, path string, report func(key, msg string)) {
	c.Check(path, report)
	fam, err := FamilyOf(c)
	if err != nil {
		if c.Kind == devices.KindScanner {
			report(path+".port", err.Error())
		}
		return // an unknown kind is already reported by c.Check
	}
	switch fam {
	case SerialScanner:
		serialscan.CheckConfig(c, path, report)
	case WedgeScanner:
		evdev.CheckConfig(c, path, report)
	case SerialScale, HIDScale:
		scale.CheckConfig(c, path, report)
	}
}

// CheckAll reports the problems of a whole `devices:` list, entries at "devices[i]",
// including names used twice (the name is how stations and the API address a device).
func CheckAll(cfgs []devices.Config, report func(key, msg string)) {
	seen := make(map[string]int)
	for i := range cfgs {
		path := fmt.Sprintf("devices[%d]", i)
		Check(&cfgs[i], path, report)
		if n := cfgs[i].Name; n != "" {
			if j, dup := seen[n]; dup {
				report(path+".name", fmt.Sprintf("%q already names devices[%d]", n, j))
			} else {
				seen[n] = i
			}
		}
	}
}

// New returns the driver for cfg.
func New(cfg devices.Config, log *slog.Logger) (devices.Driver, error) {
	var problems []error
	Check(&cfg, "device", func(key, msg string) { problems = append(problems, fmt.Errorf("%s: %s", key, msg)) })
	if len(problems) > 0 {
		return nil, fmt.Errorf("device %q: %w", cfg.Name, errors.Join(problems...))
	}
	fam, _ := FamilyOf(&cfg)
	switch fam {
	case SerialScanner:
		return serialscan.New(cfg, log)
	case WedgeScanner:
		return evdev.New(cfg, log)
	case HIDScale:
		d, err := hidpos.New(cfg, log)
		if err != nil {
			return nil, err // not a nil *Driver in a non-nil interface
		}
		return d, nil
	default:
		return scale.New(cfg, log)
	}
}

// Units builds a supervisor unit per entry, or returns every entry's problems.
func Units(cfgs []devices.Config, log *slog.Logger) ([]devices.Unit, error) {
	units := make([]devices.Unit, 0, len(cfgs))
	var problems []error
	for _, c := range cfgs {
		d, err := New(c, log)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		units = append(units, devices.Unit{Config: c, Driver: d})
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return units, nil
}
