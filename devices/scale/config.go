package scale

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tarm/serial"

	"github.com/depotd/depotd/devices"
	"github.com/depotd/depotd/devices/scale/unit"
)

// Protocol names as written in config (`protocol:`) and on the command line (--protocol).
const (
	MTSICS           = "mt-sics"
	Toledo8217       = "toledo-8217"
	NCISCP01         = "nci-scp01"
	ToledoContinuous = "toledo-continuous"
	HIDPOS           = "hid-pos"
)

// Protocols lists every scale protocol depotd speaks, in the order the docs present them.
func Protocols() []string {
	return []string{MTSICS, Toledo8217, NCISCP01, ToledoContinuous, HIDPOS}
}

// Defaults that apply when the config leaves a field zero.
const (
	DefaultPollInterval = 200 * time.Millisecond
	DefaultTimeout      = 2 * time.Second
	DefaultUnit         = unit.Kg
	// DefaultStableFramesContinuous: a continuous indicator's stable weight counts once
	// three consecutive identical stable frames have come (about 0.3 s at the usual rate),
	// so one corrupted frame that happens to decode can never be taken for a weight.
	DefaultStableFramesContinuous = 3
	// DefaultStableFramesDemand: a demand scale's reply answers the poll just sent; one
	// stable reply is a stable weight.
	DefaultStableFramesDemand = 1
	// MaxStableFrames bounds stable_frames: more would keep a busy scale from ever
	// settling (at 10 frames a second, 100 frames is 10 s of an unchanged display).
	MaxStableFrames = 100
)

// StableFrames is how many consecutive identical stable frames cfg needs before a weight
// counts as stable: cfg.StableFrames, or the protocol's default.
func StableFrames(cfg devices.Config) int {
	switch {
	case cfg.StableFrames > 0:
		return cfg.StableFrames
	case cfg.Protocol == ToledoContinuous:
		return DefaultStableFramesContinuous
	}
	return DefaultStableFramesDemand
}

// Serial is a resolved serial line setting.
type Serial struct {
	Baud     int
	DataBits int
	Parity   string // none, even, odd
	StopBits int
}

func (s Serial) String() string {
	return fmt.Sprintf("%d %d%s%d", s.Baud, s.DataBits, strings.ToUpper(s.Parity[:1]), s.StopBits)
}

// SerialDefaults returns the manual's serial settings for a serial protocol; ok is false
// for hid-pos and unknown names.
//
//   - mt-sics: 9600 8N1 (reference §1.1; Atlantis-Software/mt-sics README; Mettler Toledo
//     balances' factory "Host" setting is 9600 8N1).
//   - toledo-8217: 9600 7E1 (reference §1.3; odoo SerialScaleDriver.py, Ariva-S).
//   - nci-scp01: 9600 7E1 (Salter Brecknell 7815 manual p.19 "factory default settings:
//     9600 baud, 7 data bits, even parity, 1 stop bit"; the DIVA service manual §6.1.1
//     fixes NCI data bits at seven). Some NCI POS scales ship 8N1 (Brecknell 6712): override.
//   - toledo-continuous: 9600 7E1. The Wildcat manual leaves baud/bits/parity to the
//     indicator setup and gives bit 7 of each status word as parity under 7E1 (reference
//     §1.2); check the indicator's port setup and override if it differs.
func SerialDefaults(protocol string) (Serial, bool) {
	switch protocol {
	case MTSICS:
		return Serial{Baud: 9600, DataBits: 8, Parity: "none", StopBits: 1}, true
	case Toledo8217, NCISCP01, ToledoContinuous:
		return Serial{Baud: 9600, DataBits: 7, Parity: "even", StopBits: 1}, true
	}
	return Serial{}, false
}

// ResolveSerial applies cfg's overrides to the protocol's defaults.
func ResolveSerial(cfg devices.Config) (Serial, error) {
	s, ok := SerialDefaults(cfg.Protocol)
	if !ok {
		return Serial{}, fmt.Errorf("protocol %q has no serial line", cfg.Protocol)
	}
	if cfg.Baud != 0 {
		s.Baud = cfg.Baud
	}
	if cfg.DataBits != 0 {
		s.DataBits = cfg.DataBits
	}
	if cfg.Parity != "" {
		s.Parity = cfg.Parity
	}
	if cfg.StopBits != 0 {
		s.StopBits = cfg.StopBits
	}
	if msg := checkSerial(s); msg != "" {
		return Serial{}, fmt.Errorf("serial settings %v: %s", s, msg)
	}
	return s, nil
}

func (s Serial) tarm(port string, readTimeout time.Duration) *serial.Config {
	p := serial.ParityNone
	switch s.Parity {
	case "even":
		p = serial.ParityEven
	case "odd":
		p = serial.ParityOdd
	}
	return &serial.Config{Name: port, Baud: s.Baud, Size: byte(s.DataBits), Parity: p,
		StopBits: serial.StopBits(s.StopBits), ReadTimeout: readTimeout}
}

// bauds are the rates tarm/serial accepts on Linux that scales use.
var bauds = []int{300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200}

func checkSerial(s Serial) string {
	var bad []string
	okBaud := false
	for _, b := range bauds {
		okBaud = okBaud || b == s.Baud
	}
	if !okBaud {
		bad = append(bad, fmt.Sprintf("baud %d not one of %v", s.Baud, bauds))
	}
	if s.DataBits != 7 && s.DataBits != 8 {
		bad = append(bad, fmt.Sprintf("data_bits %d not 7 or 8", s.DataBits))
	}
	if s.Parity != "none" && s.Parity != "even" && s.Parity != "odd" {
		bad = append(bad, fmt.Sprintf("parity %q not none, even or odd", s.Parity))
	}
	if s.StopBits != 1 && s.StopBits != 2 {
		bad = append(bad, fmt.Sprintf("stop_bits %d not 1 or 2", s.StopBits))
	}
	return strings.Join(bad, "; ")
}

// CheckConfig reports every problem of a scale entry (kind: scale) with its full key path,
// path being the entry's own ("devices[2]"). It complements devices.Config.Check, which
// covers name, kind and port. Settings a protocol would ignore are reported too: nothing
// is dropped silently.
func CheckConfig(c *devices.Config, path string, report func(key, msg string)) {
	if c.Kind != devices.KindScale {
		return
	}
	valid := strings.Join(Protocols(), ", ")
	switch c.Protocol {
	case MTSICS, Toledo8217, NCISCP01, ToledoContinuous, HIDPOS:
	case "":
		report(path+".protocol", "required for a scale ("+valid+")")
		return
	default:
		report(path+".protocol", fmt.Sprintf("unknown scale protocol %q (%s)", c.Protocol, valid))
		return
	}
	serialProto := c.Protocol != HIDPOS
	if serialProto {
		if c.Baud != 0 && !contains(bauds, c.Baud) {
			report(path+".baud", fmt.Sprintf("%d is not one of %v", c.Baud, bauds))
		}
		if c.DataBits != 0 && c.DataBits != 7 && c.DataBits != 8 {
			report(path+".data_bits", fmt.Sprintf("%d is not 7 or 8", c.DataBits))
		}
		if c.Parity != "" && c.Parity != "none" && c.Parity != "even" && c.Parity != "odd" {
			report(path+".parity", fmt.Sprintf("%q is not none, even or odd", c.Parity))
		}
		if c.StopBits != 0 && c.StopBits != 1 && c.StopBits != 2 {
			report(path+".stop_bits", fmt.Sprintf("%d is not 1 or 2", c.StopBits))
		}
	} else {
		for _, f := range []struct {
			key string
			set bool
		}{{"baud", c.Baud != 0}, {"data_bits", c.DataBits != 0}, {"parity", c.Parity != ""}, {"stop_bits", c.StopBits != 0}} {
			if f.set {
				report(path+"."+f.key, "hid-pos scales have no serial line settings; remove it")
			}
		}
	}
	switch {
	case c.Unit == "":
	case !unit.Valid(c.Unit):
		report(path+".unit", fmt.Sprintf("%q is not g, kg, lb or oz", c.Unit))
	case c.Protocol != Toledo8217:
		report(path+".unit", fmt.Sprintf("%s sends its unit with every weight; unit is only for toledo-8217", c.Protocol))
	}
	switch {
	case c.Checksum == "":
	case c.Protocol != ToledoContinuous:
		report(path+".checksum", fmt.Sprintf("%s frames have no checksum; checksum is only for toledo-continuous", c.Protocol))
	case !slices.Contains(ChecksumModes(), c.Checksum):
		report(path+".checksum", fmt.Sprintf("%q is not auto, on or off (the indicator's checksum setting; auto learns it)", c.Checksum))
	}
	switch {
	case c.StableFrames == 0:
	case !serialProto:
		report(path+".stable_frames", "hid-pos scales report stability themselves; stable_frames is only for serial scales")
	case c.StableFrames < 0 || c.StableFrames > MaxStableFrames:
		report(path+".stable_frames", fmt.Sprintf("%d is not between 1 and %d", c.StableFrames, MaxStableFrames))
	}
	demand := c.Protocol == MTSICS || c.Protocol == Toledo8217 || c.Protocol == NCISCP01
	switch {
	case c.PollInterval < 0:
		report(path+".poll_interval", "must not be negative")
	case c.PollInterval > 0 && !demand:
		report(path+".poll_interval", fmt.Sprintf("%s scales send on their own; poll_interval is only for mt-sics, toledo-8217 and nci-scp01", c.Protocol))
	}
	poll := c.PollInterval
	if poll == 0 {
		poll = DefaultPollInterval
	}
	switch {
	case c.Timeout < 0:
		report(path+".timeout", "must not be negative")
	case c.Timeout > 0 && demand && c.Timeout <= poll:
		report(path+".timeout", fmt.Sprintf("%v must be longer than poll_interval %v", c.Timeout, poll))
	}
	for _, f := range []struct {
		key string
		set bool
	}{
		{"suffix", c.Suffix != ""}, {"prefix", c.Prefix != ""}, {"max_length", c.MaxLength != 0},
		{"char_timeout", c.CharTimeout != 0}, {"layout", c.Layout != ""}, {"gs_substitute", c.GSSubstitute != ""},
		{"good_beep", c.GoodBeep != ""}, {"bad_beep", c.BadBeep != ""},
	} {
		if f.set {
			report(path+"."+f.key, "scanner setting on a scale entry; remove it")
		}
	}
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
