package scale_test

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/depotd/depotd/devices"
	"github.com/depotd/depotd/devices/scale"
	"github.com/depotd/depotd/devices/sim"
)

// noisyCase is one stream of trouble on the line: the writes that make it (each a
// separate write to the pty) and the one stable weight it must give, or none.
type noisyCase struct {
	name  string
	parts [][]byte
	want  string // "1.234 kg", or "" for no weight at all
	errs  bool   // it must count frame errors (false: it must count none)
}

func weightKey(w devices.Weight) string { return w.Value.String() + " " + w.Unit }

// checkWindow checks what the driver delivered for one case, between from (before the
// case was written) and end (the first stable weight of the sentinel sent after it):
// stable weights are the case's want (at least once) or the sentinel sent before it, and
// frame errors were counted if and only if the case has faults.
func checkWindow(t *testing.T, r *running, c noisyCase, before string, from, end, errsFrom, errsEnd int) {
	t.Helper()
	seen := false
	for _, w := range r.sink.since(from)[:end-from] {
		if !w.Usable() {
			continue
		}
		switch k := weightKey(w); {
		case k == before:
		case c.want != "" && k == c.want:
			seen = true
		default:
			t.Errorf("stable weight %s read from %q (raw %q)", k, c.parts, w.Raw)
		}
	}
	if c.want != "" && !seen {
		t.Errorf("no stable %s", c.want)
	}
	if n := errsEnd - errsFrom; (n > 0) != c.errs {
		r.sink.mu.Lock()
		t.Errorf("%d frame errors (%+v), want errors: %v", n, r.sink.errs[errsFrom:errsEnd], c.errs)
		r.sink.mu.Unlock()
	}
}

// awaitStable waits until a stable weight key arrives at index ≥ from, calling tick every
// 20 ms meanwhile (a continuous indicator sends its next frame), and returns its index
// and the frame-error count at that point.
func awaitStable(t *testing.T, r *running, from int, key string, tick func()) (idx, errs int) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	pace := time.NewTicker(20 * time.Millisecond)
	defer pace.Stop()
	for {
		r.sink.mu.Lock()
		for i := from; i < len(r.sink.weights); i++ {
			if w := r.sink.weights[i]; w.Usable() && weightKey(w) == key {
				errs := len(r.sink.errs)
				r.sink.mu.Unlock()
				return i, errs
			}
		}
		ran, runErr := r.sink.ran, r.sink.runErr
		r.sink.mu.Unlock()
		if ran {
			t.Fatalf("no stable %s; Run returned: %v", key, runErr)
		}
		select {
		case <-r.sink.notify:
		case <-pace.C:
			if tick != nil {
				tick()
			}
		case <-deadline.C:
			t.Fatalf("no stable %s within 10s", key)
		}
	}
}

// startIndicator runs a toledo-continuous driver on a fresh pty whose other side the test
// writes, as the indicator would.
func startIndicator(t *testing.T, checksum string) (*sim.Port, *running) {
	t.Helper()
	port, err := sim.OpenPort(filepath.Join(t.TempDir(), "indicator"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { port.Close() })
	return port, startDriver(t, devices.Config{Name: "floor", Kind: devices.KindScale, Port: port.Link(),
		Protocol: scale.ToledoContinuous, Checksum: checksum, Timeout: 5 * time.Second})
}

func continuousCases(frame func(grams int64) []byte, checksummed bool) []noisyCase {
	a := frame(1234)
	noise := []byte("\xff~\x00")
	digit := flip(a, 7, 0) // 1.234 → 1.334
	cases := []noisyCase{
		{name: "three clean frames", parts: [][]byte{a, a, a}, want: "1.234 kg"},
		{name: "frames split across writes", parts: [][]byte{a[:5], a[5:12], a[12:], a[:1], a[1:], a[:16], a[16:]}, want: "1.234 kg"},
		{name: "noise between frames", parts: [][]byte{a, noise, a, noise, a}, errs: true},
		{name: "noise then three frames", parts: [][]byte{noise, a, a, a}, want: "1.234 kg", errs: true},
		// Without a checksum a flipped digit cannot be seen: it is a frame of another
		// weight, which breaks the run and never repeats three times.
		{name: "flipped bit in a digit", parts: [][]byte{a, a, digit, a, a}, errs: checksummed},
		{name: "flipped bit then three frames", parts: [][]byte{a, digit, a, a, a}, want: "1.234 kg", errs: checksummed},
		{name: "frame cut short by a cable pull", parts: [][]byte{a, a, a[:9], a, a}, errs: true},
		{name: "cut short then three frames", parts: [][]byte{a[:9], a, a, a}, want: "1.234 kg", errs: true},
	}
	if checksummed {
		cases = append(cases,
			noisyCase{name: "flipped bit in three frames in a row", parts: [][]byte{digit, digit, digit}, errs: true},
			noisyCase{name: "checksum lost", parts: [][]byte{a, a, a[:17], a, a}, errs: true})
	}
	return cases
}

// TestNoisyStreamsGiveExactWeightOrNone drives every protocol's driver, through
// tarm/serial on a real pseudo-terminal, with noisy streams: line noise between frames, a
// frame split across reads, a flipped bit, a frame cut short. Each gives exactly its
// weight or no weight at all, and each fault counts as a frame error.
func TestNoisyStreamsGiveExactWeightOrNone(t *testing.T) {
	for _, mode := range []struct {
		checksum string
		cks      bool
	}{{scale.ChecksumOn, true}, {scale.ChecksumAuto, true}, {scale.ChecksumOff, false}, {scale.ChecksumAuto, false}} {
		frame := func(g int64) []byte { return contFrame(g, false, mode.cks) }
		for _, c := range continuousCases(frame, mode.cks) {
			t.Run(fmt.Sprintf("toledo-continuous/checksum-%s/cks-%v/%s", mode.checksum, mode.cks, c.name), func(t *testing.T) {
				port, r := startIndicator(t, mode.checksum)
				write := func(b []byte) {
					if _, err := port.Write(b); err != nil {
						t.Fatal(err)
					}
				}
				before, after := frame(7777), frame(8888)
				awaitStable(t, r, 0, "7.777 kg", func() { write(before) })
				from, errsFrom := r.sink.count(), r.sink.errCount()
				for _, p := range c.parts {
					write(p)
				}
				end, errsEnd := awaitStable(t, r, from, "8.888 kg", func() { write(after) })
				checkWindow(t, r, c, "7.777 kg", from, end, errsFrom, errsEnd)
			})
		}
	}

	type demand struct {
		proto   string
		cfgUnit string
		reply   func(v string) []byte
		a, flip []byte // 1.234 (or 1.25 lb) and a flipped bit that breaks the frame
		digit   []byte // a flipped digit: a valid reply of another weight
		want    string
		vals    [2]string // the sentinels before and after, as the protocol writes them
	}
	sics := func(v string) []byte { return fmt.Appendf(nil, "S S %10s kg\r\n", v) }
	t8217 := func(v string) []byte { return fmt.Appendf(nil, "\x02%06s\r", v) }
	nci := func(v string) []byte { return fmt.Appendf(nil, "\n%07slb\r\n00\r\x03", v) }
	demands := []demand{
		{proto: scale.MTSICS, reply: sics, a: sics("1.234"), want: "1.234 kg", vals: [2]string{"7.777", "8.888"},
			flip: bytes.Replace(sics("1.234"), []byte("kg"), []byte("jg"), 1), digit: sics("1.334")},
		{proto: scale.Toledo8217, cfgUnit: "kg", reply: t8217, a: t8217("1.234"), want: "1.234 kg", vals: [2]string{"7.777", "8.888"},
			flip: t8217("1/234"), digit: t8217("1.334")},
		{proto: scale.NCISCP01, reply: nci, a: nci("1.25"), want: "1.25 lb", vals: [2]string{"7.77", "8.88"},
			flip: bytes.Replace(nci("1.25"), []byte("00\r"), []byte("0 \r"), 1), digit: nci("1.35")},
	}
	for _, d := range demands {
		noise := []byte("\xff~\x00")
		// MT-SICS frames are lines: noise without a line end joins the reply's line and
		// spoils it. STX and LF framed replies start after it.
		afterNoise := d.want
		if d.proto == scale.MTSICS {
			afterNoise = ""
		}
		cases := []noisyCase{
			{name: "clean reply", parts: [][]byte{d.a}, want: d.want},
			{name: "reply split across writes", parts: [][]byte{d.a[:4], d.a[4:]}, want: d.want},
			{name: "noise before the reply", parts: [][]byte{noise, d.a}, want: afterNoise, errs: true},
			{name: "noise instead of the reply", parts: [][]byte{noise}, errs: true},
			{name: "flipped bit that breaks the frame", parts: [][]byte{d.flip}, errs: true},
			{name: "reply cut short", parts: [][]byte{d.a[:len(d.a)-4]}, errs: true},
		}
		for _, c := range cases {
			t.Run(d.proto+"/"+c.name, func(t *testing.T) {
				runDemandCase(t, d.proto, d.cfgUnit, 0, d.reply(d.vals[0]), d.reply(d.vals[1]), [][][]byte{c.parts}, c)
			})
		}
		// A flipped digit is a valid reply of another weight; with stable_frames 2 it must
		// repeat to count, so it never does.
		c := noisyCase{name: "flipped digit with stable_frames 2", want: d.want}
		t.Run(d.proto+"/"+c.name, func(t *testing.T) {
			runDemandCase(t, d.proto, d.cfgUnit, 2, d.reply(d.vals[0]), d.reply(d.vals[1]),
				[][][]byte{{d.a}, {d.digit}, {d.a}, {d.a}}, c)
		})
	}
}

// runDemandCase runs a demand driver against a scripted scale on a pty: it answers polls
// with before until the driver reads it, then with the script (one entry per poll), then
// with after.
func runDemandCase(t *testing.T, proto, cfgUnit string, stableFrames int, before, after []byte, script [][][]byte, c noisyCase) {
	port, err := sim.OpenPort(filepath.Join(t.TempDir(), "scale"))
	if err != nil {
		t.Fatal(err)
	}
	resp := &pollResponder{port: port, proto: proto, reply: before}
	resp.start(t)
	r := startDriver(t, devices.Config{Name: "bench", Kind: devices.KindScale, Port: port.Link(), Protocol: proto, Unit: cfgUnit,
		PollInterval: 20 * time.Millisecond, Timeout: 3 * time.Second, StableFrames: stableFrames})
	beforeKey := readsAs(before, proto, cfgUnit)
	awaitStable(t, r, 0, beforeKey, nil)
	from, errsFrom := r.sink.count(), r.sink.errCount()
	done := resp.play(script, after)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the driver did not poll through the script within 10s")
	}
	end, errsEnd := awaitStable(t, r, from, readsAs(after, proto, cfgUnit), nil)
	checkWindow(t, r, c, beforeKey, from, end, errsFrom, errsEnd)
}

// readsAs is what a clean reply reads as ("7.777 kg").
func readsAs(reply []byte, proto, cfgUnit string) string {
	res, err := scale.ReadStream(devices.Config{Name: "k", Protocol: proto, Port: "/dev/null", Unit: cfgUnit}, [][]byte{reply})
	if err != nil || len(usable(res)) != 1 {
		panic(fmt.Sprintf("reply %q reads as %v %v", reply, usable(res), err))
	}
	return usable(res)[0]
}

// pollResponder is a scripted demand scale on a pty: the MT-SICS handshake (@, TA) as a
// balance answers it, and every weight poll with the next scripted reply (its writes one
// by one), or with reply once the script is used up.
type pollResponder struct {
	port  *sim.Port
	proto string

	mu     sync.Mutex
	reply  []byte
	script [][][]byte
	done   chan struct{} // closed once the script is used up
}

func (p *pollResponder) play(script [][][]byte, then []byte) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.script, p.done = script, make(chan struct{})
	p.reply = then
	return p.done
}

func (p *pollResponder) start(t *testing.T) {
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		var buf []byte
		tmp := make([]byte, 256)
		for {
			n, err := p.port.Read(tmp)
			buf = append(buf, tmp[:n]...)
			if err != nil {
				return // the port closed: the test is over
			}
			for {
				var cmd string
				switch i := bytes.IndexByte(buf, '\r'); {
				case p.proto == scale.Toledo8217 && len(buf) > 0:
					cmd, buf = string(buf[:1]), buf[1:]
				case p.proto != scale.Toledo8217 && i >= 0:
					cmd, buf = string(buf[:i]), bytes.TrimPrefix(buf[i+1:], []byte("\n"))
				}
				if cmd == "" {
					break
				}
				for _, w := range p.answer(cmd) {
					if _, err := p.port.Write(w); err != nil && !errors.Is(err, sim.ErrClosed) {
						t.Errorf("responder write: %v", err)
					}
				}
			}
		}
	}()
	t.Cleanup(func() {
		p.port.Close()
		<-stopped
	})
}

func (p *pollResponder) answer(cmd string) [][]byte {
	switch cmd {
	case "@":
		return [][]byte{[]byte("I4 A \"0123456789\"\r\n")}
	case "TA":
		return [][]byte{[]byte("TA A      0.000 kg\r\n")}
	case "SI", "W":
	default:
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.script) == 0 {
		return [][]byte{p.reply}
	}
	next := p.script[0]
	p.script = p.script[1:]
	if len(p.script) == 0 {
		close(p.done)
	}
	return next
}

// TestCablePullMidFrameIsAFrameErrorNotAWeight: a USB-serial adapter pulled in the middle
// of a frame ends Run (the scale is disconnected); the half frame left is never read, and
// counts as a frame error.
func TestCablePullMidFrameIsAFrameErrorNotAWeight(t *testing.T) {
	port, r := startIndicator(t, scale.ChecksumOn)
	good := contFrame(7777, false, true)
	awaitStable(t, r, 0, "7.777 kg", func() { _, _ = port.Write(good) })
	from, errsFrom := r.sink.count(), r.sink.errCount()
	if _, err := port.Write(contFrame(1234, false, true)[:11]); err != nil {
		t.Fatal(err)
	}
	// Pull the cable once the driver has read the half frame (a hang-up drops what the
	// tty had not delivered yet).
	waitDrained(t, port)
	if err := port.Unplug(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-r.done:
		if err == nil {
			t.Fatal("Run returned nil after the cable was pulled")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run still running 10s after the cable was pulled")
	}
	for _, w := range r.sink.since(from) {
		if w.Usable() && weightKey(w) != "7.777 kg" {
			t.Errorf("read %s from a half frame", weightKey(w))
		}
	}
	r.sink.mu.Lock()
	defer r.sink.mu.Unlock()
	cut := false
	for _, e := range r.sink.errs[errsFrom:] {
		cut = cut || strings.Contains(e.Reason, "cut short")
	}
	if !cut {
		t.Errorf("frame errors %+v, want the half frame as cut short", r.sink.errs[errsFrom:])
	}
}

// waitDrained waits until the driver has read everything written to port: nothing left
// in the tty's input queue (TIOCINQ on the slave side).
func waitDrained(t *testing.T, port *sim.Port) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		var n int
		onTTY(t, port.Device(), func(fd int) (err error) { n, err = unix.IoctlGetInt(fd, unix.TIOCINQ); return err })
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d bytes still unread after 10s", n)
		}
		<-tick.C
	}
}
