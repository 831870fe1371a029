// Package serialscan reads barcode scanners on serial lines: RS-232, and USB scanners
// in USB-CDC (virtual COM port) mode, through github.com/tarm/serial.
//
// It has two halves. Framer and CheckFrame are pure (no I/O, fuzzed): they cut the byte stream
// into frames by the configured suffix (auto, cr, lf, crlf, etx, or none with an
// inter-character timeout), strip an optional prefix and the AIM symbology identifier
// ("]C1", "]E0", "]d2", ...) into Scan.AIM, keep GS (0x1D) as the FNC1 separator, and refuse
// with the raw bytes in hex any frame that is too long or holds another control byte.
// Driver is the thin I/O shell: it opens the port with tarm/serial (7 or 8 data bits,
// parity none/even/odd, 1 or 2 stop bits; tarm cannot do 1.5 or mark/space), reads with a
// 100 ms timeout so it notices ctx and unplugging, and sends beep bytes on demand.
//
// Contract: Run returns nil when ctx is done, an error wrapping devices.ErrGone when the
// device vanished (path removed or re-pointed, tty hung up), and other errors as they come;
// the devices supervisor reconnects. Accepted scans carry Data without control bytes
// other than GS and at most MaxLength bytes; nothing refused reaches Sink.Scan.
//
// Concurrency: Framer is for one goroutine; Driver.Run runs in one goroutine at a time;
// Driver.Beep is safe from any goroutine. Run starts no goroutines.
//
// Why not another serial library: tarm/serial is the one the project chose; its
// VTIME-based read timeout (0.1 s resolution) is what bounds the inter-character timeout.
package serialscan
