package scale

import (
	"testing"
	"time"

	"github.com/tarm/serial"

	"github.com/depotd/depotd/devices"
)

// TestTarmConfig: the resolved settings reach tarm/serial as the manual's (a pty cannot
// show data bits or parity, so this is where they are checked).
func TestTarmConfig(t *testing.T) {
	cases := []struct {
		cfg  devices.Config
		want serial.Config
	}{
		{devices.Config{Protocol: MTSICS}, serial.Config{Baud: 9600, Size: 8, Parity: serial.ParityNone, StopBits: serial.Stop1}},
		{devices.Config{Protocol: Toledo8217}, serial.Config{Baud: 9600, Size: 7, Parity: serial.ParityEven, StopBits: serial.Stop1}},
		{devices.Config{Protocol: NCISCP01}, serial.Config{Baud: 9600, Size: 7, Parity: serial.ParityEven, StopBits: serial.Stop1}},
		{devices.Config{Protocol: ToledoContinuous}, serial.Config{Baud: 9600, Size: 7, Parity: serial.ParityEven, StopBits: serial.Stop1}},
		{devices.Config{Protocol: NCISCP01, Baud: 4800, DataBits: 8, Parity: "odd", StopBits: 2}, serial.Config{Baud: 4800, Size: 8, Parity: serial.ParityOdd, StopBits: serial.Stop2}},
	}
	for _, c := range cases {
		s, err := ResolveSerial(c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		got := *s.tarm("/dev/x", time.Second)
		c.want.Name, c.want.ReadTimeout = "/dev/x", time.Second
		if got != c.want {
			t.Errorf("%+v: tarm config %+v, want %+v", c.cfg, got, c.want)
		}
	}
}
