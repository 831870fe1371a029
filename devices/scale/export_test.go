package scale

import (
	"github.com/depotd/depotd/devices"
)

// Test hooks: the stream splitters the drivers use, so external tests and fuzzers can feed
// them arbitrary byte streams.
var (
	SplitSICS = func(data []byte) (int, []byte, int) { return (&sicsProto{}).split(data) }
	Split8217 = split8217
	SplitNCI  = splitNCI
)

// StreamResult is what the driver's read path made of a byte stream.
type StreamResult struct {
	Weights     []devices.Weight // every reading delivered, in order
	FrameErrors []devices.FrameError
}

// ReadStream runs chunks through the driver's own read path for cfg, as Run does with
// what each port read returned: the protocol's framer, decoder, stable gate and frame
// error reporting (the handshake and polls left out). It is the path fuzzers exercise
// without a pty.
func ReadStream(cfg devices.Config, chunks [][]byte) (StreamResult, error) {
	drv, err := New(cfg, nil)
	if err != nil {
		return StreamResult{}, err
	}
	var d *Driver
	switch v := drv.(type) {
	case runDriver:
		d = v.d
	case zeroDriver:
		d = v.d
	case fullDriver:
		d = v.d
	}
	if c, ok := d.proto.(*contProto); ok {
		c.splitter.Reset(c.checksum) // what hello does
	}
	sink := &streamSink{}
	r := d.newRunner(sink)
	f := framer{split: d.proto.split, onNoise: r.noise}
	for _, c := range chunks {
		f.push(c)
		for fr := f.next(); fr != nil; fr = f.next() {
			_ = r.frame(fr)
		}
	}
	f.flush()
	return sink.res, nil
}

type streamSink struct{ res StreamResult }

func (s *streamSink) Scan(devices.Scan)         { panic("a scale delivered a scan") }
func (s *streamSink) BadScan(devices.BadScan)   { panic("a scale delivered a bad scan") }
func (s *streamSink) State(devices.DeviceState) {}
func (s *streamSink) Weight(w devices.Weight)   { s.res.Weights = append(s.res.Weights, w) }
func (s *streamSink) FrameError(e devices.FrameError) {
	s.res.FrameErrors = append(s.res.FrameErrors, e)
}
