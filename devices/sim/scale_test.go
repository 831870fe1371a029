package sim_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/tarm/serial"

	"github.com/depotd/depotd/devices/sim"
	"github.com/depotd/depotd/devices/sim/simtest"
)

// startScaleSim runs a scale simulator on a fresh pty for the test.
func startScaleSim(t *testing.T, proto string, opts sim.ScaleOptions, load string) *sim.Scale {
	t.Helper()
	sc := simtest.StartScale(t, proto, opts)
	sc.SetLoad(decimal.RequireFromString(load))
	return sc
}

// ask sends cmd from the host side and reads until want has arrived (or 5s pass).
func ask(t *testing.T, p *serial.Port, cmd string, want string) {
	t.Helper()
	if cmd != "" {
		if _, err := p.Write([]byte(cmd)); err != nil {
			t.Fatal(err)
		}
	}
	var got []byte
	buf := make([]byte, 64)
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < len(want) && time.Now().Before(deadline) {
		n, _ := p.Read(buf)
		got = append(got, buf[:n]...)
	}
	if string(got) != want {
		t.Fatalf("%q → %q, want %q", cmd, got, want)
	}
}

func hostPort(t *testing.T, sc *sim.Scale) *serial.Port {
	t.Helper()
	p, err := serial.OpenPort(&serial.Config{Name: sc.Port().Link(), Baud: 9600, ReadTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// The simulators answer byte for byte as the manuals give it (sources in
// devices/scale/catalogue_test.go).
func TestScaleSimMTSICSBytes(t *testing.T) {
	sc := startScaleSim(t, sim.ScaleMTSICS, sim.ScaleOptions{Unit: "g", Decimals: 2}, "100")
	p := hostPort(t, sc)
	ask(t, p, "@\r\n", "I4 A \"0123456789\"\r\n")
	ask(t, p, "SI\r\n", "S S     100.00 g\r\n")
	ask(t, p, "S\r\n", "S S     100.00 g\r\n")
	ask(t, p, "TA\r\n", "TA A       0.00 g\r\n")
	ask(t, p, "XYZ\r\n", "ES\r\n")
	sc.SetMotion(true)
	ask(t, p, "SI\r\n", "S D     100.00 g\r\n")
	ask(t, p, "S\r\n", "S I\r\n")
	ask(t, p, "Z\r\n", "Z I\r\n")
	sc.SetMotion(false)
	ask(t, p, "T\r\n", "T S     100.00 g\r\n")
	ask(t, p, "SI\r\n", "S S       0.00 g\r\n")
	ask(t, p, "TAC\r\n", "TAC A\r\n")
	ask(t, p, "Z\r\n", "Z A\r\n")
	ask(t, p, "SI\r\n", "S S       0.00 g\r\n")
	sc.SetOverload(true)
	ask(t, p, "SI\r\n", "S +\r\n")
	ask(t, p, "Z\r\n", "Z +\r\n")
	sc.SetOverload(false)
	sc.SetUnderload(true)
	ask(t, p, "SI\r\n", "S -\r\n")
	sc.SetUnderload(false)
	// SIR repeats the weight until the next command.
	ask(t, p, "SIR\r\n", "S S       0.00 g\r\nS S       0.00 g\r\n")
	ask(t, p, "@\r\n", "")
	p.Flush()
}

func TestScaleSim8217Bytes(t *testing.T) {
	sc := startScaleSim(t, sim.ScaleToledo8217, sim.ScaleOptions{Unit: "kg"}, "1.234")
	p := hostPort(t, sc)
	ask(t, p, "W", "\x0201.234\r")
	sc.SetMotion(true)
	ask(t, p, "W", "\x02?A\r") // 0x40 | b0 motion
	sc.SetMotion(false)
	sc.SetOverload(true)
	ask(t, p, "W", "\x02?B\r") // b1 over capacity
	sc.SetOverload(false)
	ask(t, p, "T", "\x02?`\r") // tare taken: 0x40 | b5 net
	ask(t, p, "W", "\x0200.000N\r")
	ask(t, p, "Z", "\x02?`\r") // refused in net mode: still net, not centre of zero
	ask(t, p, "C", "\x02?@\r") // tare cleared: all OK
	sc.SetLoad(decimal.Zero)
	ask(t, p, "W", "\x0200.000\r")
	ask(t, p, "Z", "\x02?P\r") // centre of zero (b4)
	sc.SetLoad(decimal.RequireFromString("-0.010"))
	ask(t, p, "W", "\x02?D\r") // under zero (b2)
}

func TestScaleSimNCIBytes(t *testing.T) {
	sc := startScaleSim(t, sim.ScaleNCISCP01, sim.ScaleOptions{Unit: "lb"}, "1.25")
	p := hostPort(t, sc)
	// devices.md §1.4 [constructed]: 0A 30 30 30 31 2E 32 35 6C 62 0D 0A 30 30 0D 03.
	ask(t, p, "W\r", "\x0a\x30\x30\x30\x31\x2e\x32\x35\x6c\x62\x0d\x0a\x30\x30\x0d\x03")
	ask(t, p, "S\r", "\n00\r\x03")
	ask(t, p, "Q\r", "\n?\r\x03")
	sc.SetMotion(true)
	ask(t, p, "W\r", "\n0001.25lb\r\n10\r\x03")
	sc.SetMotion(false)
	sc.SetOverload(true)
	ask(t, p, "W\r", "\n02\r\x03")
	sc.SetOverload(false)
	ask(t, p, "Z\r", "\n20\r\x03")
	ask(t, p, "W\r", "\n0000.00lb\r\n20\r\x03")
}

func TestScaleSimContinuousBytes(t *testing.T) {
	sc := startScaleSim(t, sim.ScaleToledoContinuous, sim.ScaleOptions{Unit: "kg"}, "1.234")
	// devices.md §1.2 [constructed] stable gross 1.234 kg, tare 0.
	want := []byte{0x02, 0x2D, 0x30, 0x20, 0x30, 0x30, 0x31, 0x32, 0x33, 0x34, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x0D, 0x2A}
	if got := sc.ContinuousFrame(); !bytes.Equal(got, want) {
		t.Fatalf("frame % x, want % x", got, want)
	}
	p := hostPort(t, sc)
	p.Flush()
	ask(t, p, "", string(want)+string(want))
}

func TestScaleSimNoise(t *testing.T) {
	sc := startScaleSim(t, sim.ScaleToledo8217, sim.ScaleOptions{Unit: "kg"}, "1.234")
	sc.SetNoise(true)
	p := hostPort(t, sc)
	ask(t, p, "W", "\xff\x00~\x7f\x0201.234\r")
	ask(t, p, "W", "\xff\x00~\x7f\x0201.234\r")
	ask(t, p, "W", "\xff\x00~\x7f\x0201.234#") // every third reply loses its CR
}
