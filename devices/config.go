package devices

import (
	"fmt"
	"time"
)

// Config is one entry of the `devices:` list in depotd's config. Families read the fields
// that concern them; Check reports fields that make no sense for the entry's kind.
type Config struct {
	Name string `yaml:"name"`
	Kind Kind   `yaml:"kind"`
	// Port is a serial device path, an evdev path (/dev/input/by-id/...-event-kbd) or a
	// hidraw path. Stable /dev/serial/by-id, /dev/input/by-id or /dev/depotd/ paths are
	// recommended: they survive replugging.
	Port string `yaml:"port"`
	// Protocol selects a scale protocol: mt-sics, toledo-8217, nci-scp01,
	// toledo-continuous, hid-pos. Scanners leave it empty (or "serial"/"evdev" to force
	// the transport when the path does not tell).
	Protocol string `yaml:"protocol,omitempty"`

	// Serial line settings; zero values mean the protocol's default from its manual.
	Baud     int    `yaml:"baud,omitempty"`
	DataBits int    `yaml:"data_bits,omitempty"`
	Parity   string `yaml:"parity,omitempty"` // none, even, odd
	StopBits int    `yaml:"stop_bits,omitempty"`

	// Scanner framing.
	Suffix       string        `yaml:"suffix,omitempty"` // auto (default), cr, lf, crlf, etx, none
	Prefix       string        `yaml:"prefix,omitempty"`
	MaxLength    int           `yaml:"max_length,omitempty"`
	CharTimeout  time.Duration `yaml:"char_timeout,omitempty"` // ends a frame when suffix is none
	Layout       string        `yaml:"layout,omitempty"`       // keyboard-wedge layout: us, de, fr
	GSSubstitute string        `yaml:"gs_substitute,omitempty"`
	GoodBeep     string        `yaml:"good_beep,omitempty"` // bytes sent after an accepted scan (Go escapes allowed)
	BadBeep      string        `yaml:"bad_beep,omitempty"`

	// Scale settings.
	Unit         string        `yaml:"unit,omitempty"`          // for protocols whose wire carries no unit
	PollInterval time.Duration `yaml:"poll_interval,omitempty"` // demand protocols
	Timeout      time.Duration `yaml:"timeout,omitempty"`       // no answer for this long = disconnected
	// Checksum says whether a toledo-continuous indicator appends the checksum character:
	// auto (the default: learnt from the stream), on or off. It is an indicator setting.
	Checksum string `yaml:"checksum,omitempty"`
	// StableFrames is how many consecutive identical stable frames make a stable weight
	// (serial scales; 0 = the protocol's default: 3 for toledo-continuous, 1 otherwise).
	StableFrames int `yaml:"stable_frames,omitempty"`
}

// Check reports every problem with the entry; path is the entry's key path, e.g. "devices[2]".
// Families may add their own checks; this one covers what is common.
func (c *Config) Check(path string, report func(key, msg string)) {
	if c.Name == "" {
		report(path+".name", "required")
	}
	switch c.Kind {
	case KindScanner, KindScale:
	case "":
		report(path+".kind", "required (scanner or scale)")
	default:
		report(path+".kind", fmt.Sprintf("unknown kind %q (scanner or scale)", c.Kind))
	}
	if c.Port == "" {
		report(path+".port", "required (a serial, evdev or hidraw device path)")
	}
}
