package drivers_test

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/depotd/depotd/devices"
	"github.com/depotd/depotd/devices/drivers"
	"github.com/depotd/depotd/devices/evdev"
	"github.com/depotd/depotd/devices/serialscan"
)

func TestFamilyOf(t *testing.T) {
	for _, c := range []struct {
		cfg  devices.Config
		want drivers.Family
		err  error
	}{
		{devices.Config{Kind: "scanner", Port: "/dev/serial/by-id/usb-Honeywell_3320g-if00"}, drivers.SerialScanner, nil},
		{devices.Config{Kind: "scanner", Port: "/dev/ttyACM0"}, drivers.SerialScanner, nil},
		{devices.Config{Kind: "scanner", Port: "/dev/input/by-id/usb-Zebra_DS2208-event-kbd"}, drivers.WedgeScanner, nil},
		{devices.Config{Kind: "scanner", Port: "/dev/depotd/dock-event-kbd"}, drivers.WedgeScanner, nil},
		{devices.Config{Kind: "scanner", Port: "/dev/depotd/dock", Protocol: "evdev"}, drivers.WedgeScanner, nil},
		{devices.Config{Kind: "scanner", Port: "/dev/input/odd-name", Protocol: "serial"}, drivers.SerialScanner, nil},
		{devices.Config{Kind: "scanner", Port: "/dev/hidraw2"}, "", drivers.ErrHIDScanner},
		{devices.Config{Kind: "scale", Port: "/dev/hidraw0", Protocol: "hid-pos"}, drivers.HIDScale, nil},
		{devices.Config{Kind: "scale", Port: "/dev/ttyUSB0", Protocol: "mt-sics"}, drivers.SerialScale, nil},
	} {
		got, err := drivers.FamilyOf(&c.cfg)
		if got != c.want || !errors.Is(err, c.err) {
			t.Errorf("FamilyOf(%+v) = %q, %v; want %q, %v", c.cfg, got, err, c.want, c.err)
		}
	}
}

func TestNewPicksFamily(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	d, err := drivers.New(devices.Config{Name: "a", Kind: "scanner", Port: "/dev/ttyACM0", Suffix: "crlf"}, log)
	if _, ok := d.(*serialscan.Driver); !ok || err != nil {
		t.Errorf("serial scanner: %T %v", d, err)
	}
	d, err = drivers.New(devices.Config{Name: "b", Kind: "scanner", Port: "/dev/input/by-id/x-event-kbd", Layout: "de"}, log)
	if _, ok := d.(*evdev.Driver); !ok || err != nil {
		t.Errorf("wedge scanner: %T %v", d, err)
	}
	d, err = drivers.New(devices.Config{Name: "c", Kind: "scale", Port: "/dev/ttyUSB0", Protocol: "mt-sics"}, log)
	if d == nil || err != nil {
		t.Errorf("serial scale: %T %v", d, err)
	}
	d, err = drivers.New(devices.Config{Name: "d", Kind: "scale", Port: "/dev/hidraw0", Protocol: "hid-pos"}, log)
	if d == nil || err != nil {
		t.Errorf("hid scale: %T %v", d, err)
	}
	if d, err := drivers.New(devices.Config{Name: "e", Kind: "scanner", Port: "/dev/input/event3", Layout: "dvorak"}, log); d != nil || err == nil {
		t.Errorf("bad layout accepted: %T", d)
	}
}

func TestCheckAll(t *testing.T) {
	cfgs := []devices.Config{
		{Name: "dock", Kind: "scanner", Port: "/dev/ttyACM0", Layout: "us"},
		{Name: "dock", Kind: "scanner", Port: "/dev/input/event2", Baud: 9600},
		{Name: "w", Kind: "scale", Port: "/dev/ttyUSB0"},
		{Kind: "printer"},
		{Name: "h", Kind: "scanner", Port: "/dev/hidraw1"},
	}
	var got []string
	drivers.CheckAll(cfgs, func(key, msg string) { got = append(got, key) })
	all := strings.Join(got, " ")
	for _, k := range []string{"devices[0].layout", "devices[1].baud", "devices[1].name", "devices[2].protocol",
		"devices[3].name", "devices[3].kind", "devices[3].port", "devices[4].port"} {
		if !strings.Contains(all, k) {
			t.Errorf("no report for %s in %v", k, got)
		}
	}
}
