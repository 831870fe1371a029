package scale_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/depotd/depotd/devices"
	"github.com/depotd/depotd/devices/scale"
)

func TestCheckConfig(t *testing.T) {
	base := func(proto string) devices.Config {
		return devices.Config{Name: "s", Kind: devices.KindScale, Port: "/dev/ttyUSB0", Protocol: proto}
	}
	cases := []struct {
		name string
		cfg  devices.Config
		want []string // "key: msg" prefixes, in order
	}{
		{"minimal mt-sics", base("mt-sics"), nil},
		{"8217 with unit", func() devices.Config { c := base("toledo-8217"); c.Unit = "lb"; return c }(), nil},
		{"hid-pos", base("hid-pos"), nil},
		{"no protocol", base(""), []string{"devices[1].protocol"}},
		{"unknown protocol", base("cas"), []string{"devices[1].protocol"}},
		{"bad serial", func() devices.Config {
			c := base("mt-sics")
			c.Baud, c.DataBits, c.Parity, c.StopBits = 9601, 6, "mark", 3
			return c
		}(), []string{"devices[1].baud", "devices[1].data_bits", "devices[1].parity", "devices[1].stop_bits"}},
		{"serial on hid", func() devices.Config { c := base("hid-pos"); c.Baud = 9600; c.Parity = "even"; return c }(), []string{"devices[1].baud", "devices[1].parity"}},
		{"unit where the wire has one", func() devices.Config { c := base("mt-sics"); c.Unit = "kg"; return c }(), []string{"devices[1].unit"}},
		{"bad unit", func() devices.Config { c := base("toledo-8217"); c.Unit = "mg"; return c }(), []string{"devices[1].unit"}},
		{"poll on continuous", func() devices.Config { c := base("toledo-continuous"); c.PollInterval = time.Second; return c }(), []string{"devices[1].poll_interval"}},
		{"timeout under poll", func() devices.Config { c := base("nci-scp01"); c.Timeout = 100 * time.Millisecond; return c }(), []string{"devices[1].timeout"}},
		{"negative", func() devices.Config { c := base("nci-scp01"); c.PollInterval, c.Timeout = -1, -1; return c }(), []string{"devices[1].poll_interval", "devices[1].timeout"}},
		{"scanner setting", func() devices.Config { c := base("mt-sics"); c.Suffix = "cr"; return c }(), []string{"devices[1].suffix"}},
		{"checksum on continuous", func() devices.Config { c := base("toledo-continuous"); c.Checksum = "on"; return c }(), nil},
		{"checksum off, stable_frames 5", func() devices.Config {
			c := base("toledo-continuous")
			c.Checksum, c.StableFrames = "off", 5
			return c
		}(), nil},
		{"bad checksum mode", func() devices.Config { c := base("toledo-continuous"); c.Checksum = "yes"; return c }(), []string{"devices[1].checksum"}},
		{"checksum on a demand scale", func() devices.Config { c := base("mt-sics"); c.Checksum = "auto"; return c }(), []string{"devices[1].checksum"}},
		{"stable_frames on a demand scale", func() devices.Config { c := base("nci-scp01"); c.StableFrames = 2; return c }(), nil},
		{"stable_frames out of range", func() devices.Config { c := base("toledo-continuous"); c.StableFrames = -1; return c }(), []string{"devices[1].stable_frames"}},
		{"stable_frames too many", func() devices.Config { c := base("mt-sics"); c.StableFrames = 101; return c }(), []string{"devices[1].stable_frames"}},
		{"stable_frames on hid-pos", func() devices.Config { c := base("hid-pos"); c.StableFrames = 3; return c }(), []string{"devices[1].stable_frames"}},
	}
	for _, c := range cases {
		var got []string
		scale.CheckConfig(&c.cfg, "devices[1]", func(key, msg string) {
			if msg == "" {
				t.Errorf("%s: empty message for %s", c.name, key)
			}
			got = append(got, key)
		})
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: reported %q, want %q", c.name, got, c.want)
		}
	}
	// Scanners are none of CheckConfig's business.
	sc := devices.Config{Name: "x", Kind: devices.KindScanner, Suffix: "cr"}
	scale.CheckConfig(&sc, "devices[0]", func(key, msg string) { t.Errorf("scanner entry: %s %s", key, msg) })
}

// TestNewRefusesBadChecksumAndStableFrames: New, which probe and tests call without a
// config check, refuses what CheckConfig reports, with the setting's name in the error.
func TestNewRefusesBadChecksumAndStableFrames(t *testing.T) {
	for _, c := range []devices.Config{
		{Name: "c", Kind: devices.KindScale, Port: "/dev/null", Protocol: scale.ToledoContinuous, Checksum: "maybe"},
		{Name: "c", Kind: devices.KindScale, Port: "/dev/null", Protocol: scale.MTSICS, StableFrames: -2},
	} {
		if _, err := scale.New(c, nil); err == nil || (!strings.Contains(err.Error(), "checksum") && !strings.Contains(err.Error(), "stable_frames")) {
			t.Errorf("%+v: %v, want an error naming the setting", c, err)
		}
	}
	for proto, want := range map[string]int{scale.ToledoContinuous: 3, scale.MTSICS: 1, scale.Toledo8217: 1, scale.NCISCP01: 1} {
		if got := scale.StableFrames(devices.Config{Protocol: proto}); got != want {
			t.Errorf("%s: default stable_frames %d, want %d", proto, got, want)
		}
	}
}

func TestNewRefusesUnknownProtocol(t *testing.T) {
	_, err := scale.New(devices.Config{Name: "s", Protocol: "cas-enq"}, nil)
	if !errors.Is(err, scale.ErrUnknownProtocol) {
		t.Fatalf("err %v", err)
	}
	for _, p := range scale.Protocols() {
		if !contains(err.Error(), p) {
			t.Errorf("error %q does not list %s", err, p)
		}
	}
	if _, err := scale.New(devices.Config{Name: "s", Protocol: "mt-sics", Baud: 12345}, nil); err == nil {
		t.Error("bad baud accepted")
	}
}

func TestSerialDefaults(t *testing.T) {
	want := map[string]string{"mt-sics": "9600 8N1", "toledo-8217": "9600 7E1", "nci-scp01": "9600 7E1", "toledo-continuous": "9600 7E1"}
	for p, w := range want {
		s, err := scale.ResolveSerial(devices.Config{Protocol: p})
		if err != nil || s.String() != w {
			t.Errorf("%s: %v %v, want %s", p, s, err, w)
		}
	}
	s, err := scale.ResolveSerial(devices.Config{Protocol: "toledo-8217", Baud: 4800, DataBits: 8, Parity: "none", StopBits: 2})
	if err != nil || s.String() != "4800 8N2" {
		t.Errorf("override: %v %v", s, err)
	}
	if _, ok := scale.SerialDefaults("hid-pos"); ok {
		t.Error("hid-pos has serial defaults")
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestNewHIDPOS(t *testing.T) {
	drv, err := scale.New(devices.Config{Name: "pack", Kind: devices.KindScale, Port: "/dev/hidraw0", Protocol: "hid-pos"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := drv.(scale.Zeroer); !ok {
		t.Error("hid-pos driver is not a Zeroer")
	}
	if drv, err := scale.New(devices.Config{Name: "pack", Protocol: "hid-pos"}, nil); err == nil || drv != nil {
		t.Errorf("no port: %v %v", drv, err)
	}
}
