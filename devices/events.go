package devices

import (
	"context"
	"time"

	"github.com/shopspring/decimal"
)

// Kind is what a device is for.
type Kind string

const (
	KindScanner Kind = "scanner"
	KindScale   Kind = "scale"
)

// State is a device's connection state as the rest of depotd sees it.
type State string

const (
	StateConnected    State = "connected"
	StateDisconnected State = "disconnected"
	StateError        State = "error"
)

// Scan is one complete barcode read, framed and checked by the driver.
type Scan struct {
	Device string
	At     time.Time
	// Raw holds the frame exactly as it arrived (prefix, AIM identifier and suffix removed
	// only where the framing says so); kept as evidence.
	Raw []byte
	// Data is the barcode content with any AIM identifier stripped. GS (0x1D) stays as the
	// FNC1 separator.
	Data []byte
	// AIM is the symbology identifier that preceded the data ("]C1", "]E0", ...), or "".
	AIM string
}

// WeightStatus says whether a reading can be used.
type WeightStatus string

const (
	WeightOK        WeightStatus = "ok"
	WeightMotion    WeightStatus = "motion"
	WeightOverload  WeightStatus = "overload"
	WeightUnderload WeightStatus = "underload"
	WeightError     WeightStatus = "error"
)

// Weight is one scale reading. Value and Kg are exact; Kg is Value converted exactly
// (1 lb = 0.45359237 kg, 1 oz = 0.028349523125 kg).
type Weight struct {
	Device string
	At     time.Time
	Value  decimal.Decimal
	Unit   string // "g", "kg", "lb" or "oz"
	Kg     decimal.Decimal
	Stable bool
	Net    bool // the scale reports a tared (net) weight
	Status WeightStatus
	Raw    []byte
}

// Usable reports whether the reading may be used for a transaction: stable and in range.
func (w Weight) Usable() bool { return w.Stable && w.Status == WeightOK }

// DeviceState is a device's state change, with the reason when it is not connected.
type DeviceState struct {
	Device string
	Kind   Kind
	State  State
	Reason string
	Since  time.Time
}

// BadScan is a frame a scanner driver refused (too long, control bytes, framing error);
// the raw bytes are kept so nothing is silently dropped.
type BadScan struct {
	Device string
	At     time.Time
	Raw    []byte
	Reason string
}

// FrameError is something a driver received and refused that is not a scan: a scale frame
// that does not decode or fails its checksum, line noise between frames, a frame cut short.
// Nothing is read from it; it is counted per device (Status.FrameErrors) so that a bad
// cable or wrong serial settings show on the console and in /metrics.
type FrameError struct {
	Device string
	At     time.Time
	Raw    []byte // the refused bytes (or the first of them, for a long run of noise)
	Reason string
}

// FrameErrorSink is implemented by sinks that take FrameErrors; the supervisor's sink does.
// Drivers report to it when their sink implements it, so other sinks need not.
type FrameErrorSink interface {
	FrameError(FrameError)
}

// Sink receives what drivers read. Implementations must not block for long: drivers
// call it from their read loop.
type Sink interface {
	Scan(Scan)
	BadScan(BadScan)
	Weight(Weight)
	State(DeviceState)
}

// Driver talks to one physical device for as long as its connection lasts.
type Driver interface {
	// Run opens the device and delivers readings to sink until ctx is done (returns nil)
	// or the device fails (returns the error; the supervisor reports it and retries).
	Run(ctx context.Context, sink Sink) error
}
