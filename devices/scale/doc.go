// Package scale drives serial scales: Mettler Toledo MT-SICS (mt-sics), Toledo 8217/8213
// demand mode (toledo-8217), NCI/Weigh-Tronix SCP-01 (nci-scp01) and the Toledo
// continuous output (toledo-continuous). New also hands hid-pos entries to package hidpos,
// so one constructor covers every protocol name config accepts.
//
// Each protocol is a pure decoder (DecodeSICS, Decode8217, DecodeNCI, DecodeContinuous,
// plus the stream splitters), fuzzed and tested from a byte-level case catalogue citing
// the manuals (catalogue_test.go), and a thin I/O shell on github.com/tarm/serial: the
// Driver opens the port with the manual's serial settings (overridable in config), polls
// demand protocols every poll_interval or reads continuous frames, and delivers every
// reading to Sink.Weight with Value and Unit as the scale sent them, Kg converted exactly
// (package unit), and Stable/Net/Status set. Only Usable readings (stable, in range) may
// be used for transactions; motion, overload, underload and scale errors are delivered
// too, so the console can show them.
//
// Contract:
//   - A frame that does not decode is dropped (and logged at debug), never guessed into a
//     weight. Line noise costs readings, not correctness. MT-SICS, 8217 and NCI frames
//     carry no checksum, so a bit flipped inside a digit cannot be detected; the
//     continuous protocol's checksum is the config's `checksum:` (on, off, or auto: no
//     reading at all until three consecutive frames agree whether checksums are on).
//   - A stable weight is delivered only after stable_frames consecutive identical stable
//     frames (default 3 for toledo-continuous, 1 for demand protocols); a refused frame,
//     line noise or any other reading in between restarts the count. Other readings
//     (motion, overload, ...) are delivered at once.
//   - Every refused frame, run of noise between frames and frame cut short is reported to
//     a sink that implements devices.FrameErrorSink (the supervisor's counts them in the
//     Registry's FrameErrors).
//   - A demand poll waits at most min(timeout/2, 1 s) for its reply (the DIVA manual's
//     one second); a lost reply is polled again, and only timeout without any valid reply
//     (to a poll, a zero or a tare) counts as a silent scale.
//   - Run returns nil when its context ends, and an error when the scale is gone: open
//     failure, write failure, device node removed (ErrGone), or no valid frame for
//     timeout (ErrTimeout); the last two also wrap devices.ErrGone, so the supervisor
//     reports the scale disconnected (not in error) and retries;
//     Run reports StateConnected itself once the scale has answered.
//   - Zero, Tare and ClearTare (interfaces Zeroer, Tarer, TareClearer, implemented only
//     where the protocol has the command) are carried out by the running Run between polls
//     and return the scale's verdict (ErrRefused with the reason). They return
//     ErrNotRunning when Run is not running.
//
// Concurrency: a driver value runs one Run at a time; Run owns the port and every
// goroutine it needs (none beyond the caller's). Zero/Tare/ClearTare may be called from
// any goroutine. Decoders are pure and safe for concurrent use.
//
// Why tarm/serial and not a hand-written termios: the project chose it; its VTIME-based
// read timeout is what lets the single read loop notice a cancelled context or a silent
// scale without a second goroutine.
package scale
