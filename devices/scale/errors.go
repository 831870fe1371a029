package scale

import "errors"

// Sentinel errors. Decoders wrap them with the offending bytes; drivers wrap them with the
// port. Match with errors.Is.
var (
	// ErrUnknownProtocol: cfg.Protocol is not one of Protocols().
	ErrUnknownProtocol = errors.New("unknown scale protocol")
	// ErrMalformed: a frame that does not follow the protocol (line noise, wrong protocol or
	// serial settings). Drivers drop such frames and count them; they never guess a weight.
	ErrMalformed = errors.New("malformed scale frame")
	// ErrChecksum: a continuous frame whose checksum character does not match.
	ErrChecksum = errors.New("scale frame checksum mismatch")
	// ErrRefused: the scale answered a command with an error (MT-SICS ES/ET/EL/EI, NCI "?",
	// MT-SICS "Z I"/"T I"...). The wrapping message says which.
	ErrRefused = errors.New("scale refused the command")
	// ErrTimeout: the scale sent no valid frame for cfg.Timeout. Run returns it so that the
	// supervisor reports the scale disconnected and reconnects.
	ErrTimeout = errors.New("scale not answering")
	// ErrGone: the port's device node disappeared or now names another device (the
	// USB-serial adapter was unplugged). Run returns it at once rather than waiting for
	// the timeout.
	ErrGone = errors.New("serial device gone")
	// ErrNotRunning: Zero/Tare/ClearTare was called while the driver's Run was not running.
	ErrNotRunning = errors.New("scale driver not running")
	// ErrNoStable: ReadStable gave up before a stable, in-range reading arrived.
	ErrNoStable = errors.New("no stable weight")
)
