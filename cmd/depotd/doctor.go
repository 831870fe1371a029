package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/depotd/depotd/devices"
	"github.com/depotd/depotd/devices/drivers"
	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/uplink"
	mqtt "github.com/eclipse/paho.mqtt.golang"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

func init() {
	register("doctor", "check a gateway and say how to fix what fails: depotd doctor --config PATH", doctorCmd)
}

// finding is one doctor check's outcome. Fix says what to do when it did not pass.
type finding struct {
	Check  string
	Status string // PASS, WARN, FAIL, SKIP
	Detail string
	Fix    string
}

func pass(check, detail string) finding { return finding{check, "PASS", detail, ""} }
func warn(check, detail, fix string) finding {
	return finding{check, "WARN", detail, fix}
}
func fail(check, detail, fix string) finding { return finding{check, "FAIL", detail, fix} }
func skip(check, detail string) finding      { return finding{check, "SKIP", detail, ""} }

// doctorEnv is what the checks may consult; tests replace the timeouts.
type doctorEnv struct {
	cfgPath       string
	cfg           *Config
	now           func() time.Time
	deviceTimeout time.Duration
	brokerTimeout time.Duration
}

func doctorCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("depotd doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "/etc/depotd/depotd.yaml", "config file")
	devTimeout := fs.Duration("device-timeout", 3*time.Second, "how long a scale may take to answer")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	env := &doctorEnv{cfgPath: *path, now: time.Now, deviceTimeout: *devTimeout, brokerTimeout: 10 * time.Second}
	failed := 0
	for _, f := range runDoctor(ctx, env) {
		fmt.Fprintf(stdout, "%-4s %-22s %s\n", f.Status, f.Check, f.Detail)
		if f.Fix != "" {
			fmt.Fprintf(stdout, "     %-22s fix: %s\n", "", f.Fix)
		}
		if f.Status == "FAIL" {
			failed++
		}
	}
	if failed > 0 {
		fmt.Fprintf(stdout, "\n%d check(s) failed\n", failed)
		return 1
	}
	fmt.Fprintln(stdout, "\nall checks passed")
	return 0
}

// runDoctor runs every check in order; later checks need a valid config.
func runDoctor(ctx context.Context, env *doctorEnv) []finding {
	cfg, err := loadConfig(env.cfgPath)
	if err != nil {
		fix := "fix what is named above; `depotd config check " + env.cfgPath + "` repeats this check"
		if errors.Is(err, fs.ErrNotExist) {
			fix = "install a config at " + env.cfgPath + " (the documented example is firmware-config/depotd.yaml) or give --config PATH"
		}
		return []finding{fail("config", err.Error(), fix)}
	}
	env.cfg = cfg
	out := []finding{pass("config", env.cfgPath+" is valid")}
	out = append(out, checkConfigPerms(env.cfgPath))
	out = append(out, checkDataDir(env))
	out = append(out, checkDB(env))
	out = append(out, checkClock(env))
	for i := range cfg.Devices {
		out = append(out, checkDevice(ctx, env, cfg.Devices[i]))
	}
	if len(cfg.Devices) == 0 {
		out = append(out, skip("devices", "no devices configured"))
	}
	out = append(out, checkBroker(env, cfg.Uplink)...)
	return out
}

func checkConfigPerms(path string) finding {
	st, err := os.Stat(path)
	if err != nil {
		return fail("config permissions", err.Error(), "")
	}
	if st.Mode().Perm()&0o007 != 0 {
		return fail("config permissions", fmt.Sprintf("%s is %s: readable by every user, and it holds API tokens", path, st.Mode().Perm()),
			fmt.Sprintf("chmod 0640 %s && chown root:depotd %s", path, path))
	}
	return pass("config permissions", fmt.Sprintf("%s is %s", path, st.Mode().Perm()))
}

// freeBytes is the space an unprivileged process may still use on dir's filesystem.
func freeBytes(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

func checkDataDir(env *doctorEnv) finding {
	const name = "data dir"
	dir := env.cfg.DataDir
	st, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		// A gateway that never ran: the parent must let depotd create it.
		parent := filepath.Dir(dir)
		if _, err := os.Stat(parent); err != nil {
			return fail(name, fmt.Sprintf("%s does not exist and neither does %s", dir, parent), "mkdir -p "+dir)
		}
		return pass(name, fmt.Sprintf("%s does not exist yet: depotd creates it on first start (systemd: StateDirectory=depotd)", dir))
	}
	if err != nil {
		return fail(name, err.Error(), "")
	}
	if !st.IsDir() {
		return fail(name, dir+" is not a directory", "point data_dir at a directory")
	}
	if err := checkWritable(dir); err != nil {
		return fail(name, err.Error(), "chown depotd:depotd "+dir+" (or run depotd as the user that owns it)")
	}
	free, err := freeBytes(dir)
	if err != nil {
		return fail(name, err.Error(), "")
	}
	var used int64
	if st, err := os.Stat(filepath.Join(dir, dbFile)); err == nil {
		used = st.Size()
	}
	need := int64(env.cfg.Journal.MaxDBSize) - used
	if free < need {
		return warn(name, fmt.Sprintf("%s is writable, %s free, but journal.max_db_size allows the database %s more",
			dir, human(free), human(need)),
			"free disk space or lower journal.max_db_size: a full disk refuses new transactions")
	}
	return pass(name, fmt.Sprintf("%s is writable, %s free", dir, human(free)))
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func checkDB(env *doctorEnv) finding {
	const name = "database"
	path := filepath.Join(env.cfg.DataDir, dbFile)
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return pass(name, path+" does not exist yet: it will be created on first start")
	}
	if err != nil {
		return fail(name, err.Error(), "")
	}
	if st.Mode().Perm()&0o077 != 0 {
		return fail(name, fmt.Sprintf("%s is %s", path, st.Mode().Perm()), "chmod 0600 "+path)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 500 * time.Millisecond})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return pass(name, path+" is open by a running depotd (checked by it at start; `depotd db check` needs it stopped)")
	}
	if err != nil {
		return fail(name, fmt.Sprintf("%s does not open: %v", path, err), "restore the last backup: depotd restore --config "+env.cfgPath+" --from FILE")
	}
	defer db.Close()
	var schema uint64
	var depot string
	db.View(func(btx *bolt.Tx) error {
		if m := btx.Bucket([]byte("meta")); m != nil {
			if v := m.Get([]byte("schema")); len(v) == 8 {
				for _, c := range v {
					schema = schema<<8 | uint64(c)
				}
			}
			depot = string(m.Get([]byte("depot")))
		}
		return nil
	})
	switch {
	case schema > edge.SchemaVersion:
		return fail(name, fmt.Sprintf("layout %d was written by a newer depotd (this one reads up to %d)", schema, edge.SchemaVersion),
			"install the newer depotd again, or restore a backup made by this version")
	case depot != "" && depot != env.cfg.Depot.ID:
		return fail(name, fmt.Sprintf("belongs to depot %q, the config says %q", depot, env.cfg.Depot.ID), "fix depot.id or data_dir")
	case schema < edge.SchemaVersion:
		return pass(name, fmt.Sprintf("opens; layout %d will be migrated to %d at the next start (with a backup first)", schema, edge.SchemaVersion))
	}
	return pass(name, fmt.Sprintf("opens, layout %d is current, %s", schema, human(st.Size())))
}

// buildTime is the commit time stamped by the Go toolchain, a lower bound for a sane clock.
func buildTime() time.Time {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.time" {
				if t, err := time.Parse(time.RFC3339, s.Value); err == nil {
					return t
				}
			}
		}
	}
	return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
}

func checkClock(env *doctorEnv) finding {
	const name = "clock"
	now := env.now()
	if bt := buildTime(); now.Before(bt) {
		return fail(name, fmt.Sprintf("the clock says %s, before this depotd was built (%s)", now.Format(time.RFC3339), bt.Format(time.RFC3339)),
			"enable time sync: timedatectl set-ntp true (an RTC-less gateway boots in 1970)")
	}
	// The newest journalled transaction is a second lower bound: a clock behind it went back.
	path := filepath.Join(env.cfg.DataDir, dbFile)
	if _, err := os.Stat(path); err == nil {
		if db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 200 * time.Millisecond}); err == nil {
			var last time.Time
			db.View(func(btx *bolt.Tx) error {
				if b := btx.Bucket([]byte("tx")); b != nil {
					if _, v := b.Cursor().Last(); v != nil {
						var tx edge.Transaction
						if json.Unmarshal(v, &tx) == nil && tx.At != nil {
							last = *tx.At
						}
					}
				}
				return nil
			})
			db.Close()
			if now.Add(time.Minute).Before(last) {
				return fail(name, fmt.Sprintf("the clock says %s, before the last transaction (%s)", now.Format(time.RFC3339), last.Format(time.RFC3339)),
					"fix time sync before starting depotd: retention and oldest-pending ages use the clock")
			}
		}
	}
	return pass(name, now.UTC().Format(time.RFC3339)+" (checked against the build time and the journal; the broker's certificate validity below uses it too)")
}

// deviceSink records what a driver delivers during the doctor's probe.
type deviceSink struct {
	weight chan devices.Weight
	scan   chan devices.Scan
}

func (s deviceSink) Scan(sc devices.Scan) {
	select {
	case s.scan <- sc:
	default:
	}
}
func (s deviceSink) BadScan(devices.BadScan) {}
func (s deviceSink) Weight(w devices.Weight) {
	select {
	case s.weight <- w:
	default:
	}
}
func (s deviceSink) State(devices.DeviceState) {}

func checkDevice(ctx context.Context, env *doctorEnv, dc devices.Config) finding {
	name := "device " + dc.Name
	st, err := os.Stat(dc.Port)
	if err != nil {
		return fail(name, fmt.Sprintf("%s: %v", dc.Port, err),
			"plug the device in; check `ls -l /dev/depotd/` and the udev rules (firmware-config/99-depotd.rules)")
	}
	if st.Mode()&os.ModeCharDevice == 0 && st.Mode()&os.ModeNamedPipe == 0 {
		return fail(name, dc.Port+" is not a character device", "point port at /dev/depotd/NAME, /dev/ttyUSB*, /dev/input/event* or /dev/hidraw*")
	}
	f, err := os.OpenFile(dc.Port, os.O_RDWR|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return fail(name, fmt.Sprintf("%s: %v", dc.Port, err),
			"give depotd access: the udev rules set group dialout/input; the unit has SupplementaryGroups=dialout input")
	}
	f.Close()
	drv, err := drivers.New(dc, slog.New(slog.DiscardHandler))
	if err != nil {
		return fail(name, err.Error(), "fix devices[] in the config")
	}
	pctx, cancel := context.WithTimeout(ctx, env.deviceTimeout)
	defer cancel()
	sink := deviceSink{weight: make(chan devices.Weight, 1), scan: make(chan devices.Scan, 1)}
	errc := make(chan error, 1)
	go func() { errc <- drv.Run(pctx, sink) }()
	defer func() { cancel(); <-errc }()
	if dc.Kind == devices.KindScale {
		select {
		case w := <-sink.weight:
			return pass(name, fmt.Sprintf("%s answers: %s %s (%s)", dc.Port, w.Value, w.Unit, w.Status))
		case err := <-errc:
			errc <- err
			return fail(name, fmt.Sprintf("%s: %v", dc.Port, err), "check protocol, baud, parity and cabling in the config")
		case <-pctx.Done():
			return fail(name, fmt.Sprintf("%s opened but sent no weight within %s", dc.Port, env.deviceTimeout),
				"check protocol and baud; a demand-mode scale needs poll_interval; is depotd running and holding it?")
		}
	}
	select {
	case sc := <-sink.scan:
		return pass(name, fmt.Sprintf("%s answers: read %q", dc.Port, sc.Data))
	case err := <-errc:
		errc <- err
		if err == nil {
			return pass(name, dc.Port+" opened")
		}
		return fail(name, fmt.Sprintf("%s: %v", dc.Port, err), "check protocol and port in the config")
	case <-pctx.Done():
		return pass(name, dc.Port+" opened and listening (a scanner speaks only when it scans: scan a barcode with `depotd devices` to confirm)")
	}
}

// checkBroker checks the uplink's TLS files and connects to each broker with them.
func checkBroker(env *doctorEnv, uc *uplink.Config) []finding {
	if uc == nil || len(uc.Brokers) == 0 {
		return []finding{pass("broker", "no uplink configured: a standalone depot (the backlog is kept, not forwarded)")}
	}
	var out []finding
	for _, f := range []struct{ name, path string }{{"ca_file", uc.TLS.CAFile}, {"cert_file", uc.TLS.CertFile}, {"key_file", uc.TLS.KeyFile}} {
		if f.path == "" {
			continue
		}
		st, err := os.Stat(f.path)
		if err != nil {
			out = append(out, fail("uplink.tls."+f.name, err.Error(), "install the file or fix the path"))
			continue
		}
		if f.name == "key_file" && st.Mode().Perm()&0o077 != 0 {
			out = append(out, fail("uplink.tls.key_file", fmt.Sprintf("%s is %s: a private key must not be readable by others", f.path, st.Mode().Perm()),
				fmt.Sprintf("chmod 0600 %s && chown depotd %s (or 0640 root:depotd)", f.path, f.path)))
			continue
		}
		out = append(out, pass("uplink.tls."+f.name, fmt.Sprintf("%s (%s)", f.path, st.Mode().Perm())))
	}
	tlsCfg, err := uplink.ClientTLS(*uc)
	if err != nil {
		return append(out, fail("broker", "TLS settings: "+err.Error(), "fix uplink.tls"))
	}
	id := env.cfg.Depot.ID + "-doctor"
	for _, b := range uc.Brokers {
		// A separate client id and a clean session: the depot's own persistent session
		// (and the acks queued in it) must not be touched.
		opts := mqtt.NewClientOptions().AddBroker(b).SetClientID(id).SetCleanSession(true).
			SetUsername(uc.Username).SetPassword(uc.Password).SetConnectTimeout(env.brokerTimeout).
			SetAutoReconnect(false).SetConnectRetry(false)
		if tlsCfg != nil {
			opts.SetTLSConfig(tlsCfg)
		}
		c := mqtt.NewClient(opts)
		tok := c.Connect()
		if !tok.WaitTimeout(env.brokerTimeout + time.Second) {
			out = append(out, fail("broker", b+": no answer within "+env.brokerTimeout.String(), "check the network path and firewall to the broker"))
			continue
		}
		if err := tok.Error(); err != nil {
			out = append(out, fail("broker", fmt.Sprintf("%s: %v", b, err),
				"check the URL, credentials and uplink.tls (a certificate error can also mean a wrong clock)"))
			continue
		}
		c.Disconnect(100)
		out = append(out, pass("broker", b+" accepts an MQTT connection with these settings"))
	}
	return out
}
