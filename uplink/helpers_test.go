package uplink_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"go.uber.org/goleak"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/erpsim"
)

func TestMain(m *testing.M) {
	if os.Getenv("UPLINK_TEST_CHILD") != "" {
		os.Exit(childMain())
	}
	goleak.VerifyTestMain(m)
}

// childMain runs the uplink as a separate process (so a test can SIGKILL "depotd"): it
// opens the journal at UPLINK_TEST_DB and forwards to UPLINK_TEST_BROKER until SIGTERM.
func childMain() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	cat, _ := edge.NewCatalog([]edge.Location{{Name: "WH/Stock", Type: edge.LocInternal}}, nil, nil)
	j, err := edge.Open(os.Getenv("UPLINK_TEST_DB"), edge.Options{Depot: depotID, Catalog: cat})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer j.Close()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	inflight, _ := strconv.Atoi(os.Getenv("UPLINK_TEST_INFLIGHT"))
	resend, _ := time.ParseDuration(os.Getenv("UPLINK_TEST_RESEND"))
	openHWM := procStatus("VmHWM")
	if os.Getenv("UPLINK_TEST_EXIT_WHEN_DRAINED") != "" {
		// Reset VmHWM so that it measures the drain, not Open (Linux: clear_refs 5).
		os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	}
	u, err := uplink.New(uplink.Config{Brokers: []string{os.Getenv("UPLINK_TEST_BROKER")}, KeepAlive: 2 * time.Second,
		StatusInterval: 200 * time.Millisecond, Inflight: inflight, ResendAfter: resend}, depotID, j, nil, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var peakAnon atomic.Int64
	if os.Getenv("UPLINK_TEST_EXIT_WHEN_DRAINED") != "" {
		// Benchmark mode: stop once everything is acked and report memory on stdout.
		runCtx, cancel := context.WithCancel(ctx)
		ctx = runCtx
		go func() {
			defer cancel()
			for {
				if a := procStatus("RssAnon"); a > peakAnon.Load() {
					peakAnon.Store(a)
				}
				if os.Getenv("UPLINK_TEST_TRACE_RSS") != "" {
					last, acked := j.Positions()
					fmt.Fprintf(os.Stderr, "rss-trace acked=%d/%d RssAnon=%d RssFile=%d VmHWM=%d\n", acked, last, procStatus("RssAnon"), procStatus("RssFile"), procStatus("VmHWM"))
				}
				if last, acked := j.Positions(); last > 0 && acked == last {
					return
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		}()
	}
	if err := u.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if os.Getenv("UPLINK_TEST_EXIT_WHEN_DRAINED") != "" {
		fmt.Printf("VmHWM %d\nVmRSS %d\nRssAnon %d\nRssFile %d\nPeakRssAnon %d\nOpenHWM %d\n",
			procStatus("VmHWM"), procStatus("VmRSS"), procStatus("RssAnon"), procStatus("RssFile"), peakAnon.Load(), openHWM)
	}
	return 0
}

// procStatus returns a /proc/self/status field in KiB.
func procStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(rest), "%d", &kb)
			return kb
		}
	}
	return -1
}

const depotID = "D1"

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("test", t.Name())
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// mustJournal opens a real journal on a bbolt file in a temp dir, closed and consistency
// checked at cleanup.
func mustJournal(tb testing.TB, path string) *edge.Journal {
	tb.Helper()
	if path == "" {
		path = filepath.Join(tb.TempDir(), "depotd.db")
	}
	cat, err := edge.NewCatalog([]edge.Location{{Name: "WH/Stock", Type: edge.LocInternal}}, nil, nil)
	if err != nil {
		tb.Fatal(err)
	}
	j, err := edge.Open(path, edge.Options{Depot: depotID, Catalog: cat, MaxBatch: 4096})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if probs := j.Check(); len(probs) > 0 {
			tb.Errorf("journal check: %v", probs)
		}
		j.Close()
	})
	return j
}

// mustJournalNoCleanup opens a journal the test closes itself (to hand the file to a child
// process).
func mustJournalNoCleanup(tb testing.TB, path string) *edge.Journal {
	tb.Helper()
	cat, err := edge.NewCatalog([]edge.Location{{Name: "WH/Stock", Type: edge.LocInternal}}, nil, nil)
	if err != nil {
		tb.Fatal(err)
	}
	j, err := edge.Open(path, edge.Options{Depot: depotID, Catalog: cat, MaxBatch: 4096})
	if err != nil {
		tb.Fatal(err)
	}
	return j
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// post commits n receipts numbered from first with concurrent writers, so the journal groups
// them into few fsyncs.
func post(tb testing.TB, j *edge.Journal, first, n int) {
	tb.Helper()
	const writers = 512
	var next atomic.Int64
	next.Store(int64(first))
	end := int64(first + n)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= end {
					return
				}
				_, _, err := j.Commit(context.Background(), receipt(int(i)))
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
}

func receipt(i int) edge.Transaction {
	return edge.Transaction{
		ID:       fmt.Sprintf("tx-%07d", i),
		Type:     edge.Receipt,
		Station:  "RCV-1",
		Operator: "op7",
		Lines:    []edge.Line{{Item: "SKU-1", Qty: edge.MustQty("1"), To: "WH/Stock"}},
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type running struct {
	u      *uplink.Uplink
	cancel context.CancelFunc
	done   chan error
}

func (r *running) stop(tb testing.TB) {
	tb.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			tb.Errorf("uplink Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		tb.Fatal("uplink Run did not return within 20s of cancel")
	}
	r.cancel = nil
}

func startUplink(tb testing.TB, cfg uplink.Config, j uplink.Journal) *running {
	tb.Helper()
	return startUplinkLog(tb, cfg, j, testLogger(tb))
}

func startSim(tb testing.TB, broker string, tune func(*erpsim.Sim)) *erpsim.Sim {
	tb.Helper()
	s := &erpsim.Sim{Broker: broker, Log: testLogger(tb)}
	if tune != nil {
		tune(s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		<-done
	})
	return s
}

// recorder is an independent subscriber that records what reaches the broker.
type recorder struct {
	mu       sync.Mutex
	seqs     map[uint64]int
	arrived  map[uint64][]time.Time // of each message of a seq
	replays  int
	statuses []uplink.Status
	raw      [][]byte
	c        mqtt.Client
}

func startRecorder(tb testing.TB, broker string, filters ...string) *recorder {
	tb.Helper()
	r := &recorder{seqs: map[uint64]int{}, arrived: map[uint64][]time.Time{}}
	opts := mqtt.NewClientOptions().AddBroker(broker).SetClientID(fmt.Sprintf("rec-%d", time.Now().UnixNano())).
		SetCleanSession(true).SetAutoReconnect(true).SetConnectRetry(true).
		SetConnectRetryInterval(100 * time.Millisecond).SetMaxReconnectInterval(500 * time.Millisecond).
		SetOrderMatters(true)
	opts.SetOnConnectHandler(func(c mqtt.Client) {
		for _, f := range filters {
			c.Subscribe(f, 1, r.handle).WaitTimeout(5 * time.Second)
		}
	})
	r.c = mqtt.NewClient(opts)
	if t := r.c.Connect(); !t.WaitTimeout(10*time.Second) || t.Error() != nil {
		tb.Fatalf("recorder connect: %v", t.Error())
	}
	tb.Cleanup(func() { r.c.Disconnect(50) })
	return r
}

func (r *recorder) handle(_ mqtt.Client, m mqtt.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.raw = append(r.raw, append([]byte(nil), m.Payload()...))
	var head struct {
		Seq    uint64 `json:"seq"`
		Replay bool   `json:"replay"`
		Online *bool  `json:"online"`
	}
	json.Unmarshal(m.Payload(), &head)
	if head.Online != nil {
		var s uplink.Status
		json.Unmarshal(m.Payload(), &s)
		r.statuses = append(r.statuses, s)
		return
	}
	r.seqs[head.Seq]++
	r.arrived[head.Seq] = append(r.arrived[head.Seq], time.Now())
	if head.Replay {
		r.replays++
	}
}

// missing returns the seqs in 1..last never seen.
func (r *recorder) missing(last uint64) []uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []uint64
	for s := uint64(1); s <= last; s++ {
		if r.seqs[s] == 0 {
			out = append(out, s)
		}
	}
	return out
}

func (r *recorder) lastStatus() (uplink.Status, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.statuses) == 0 {
		return uplink.Status{}, false
	}
	return r.statuses[len(r.statuses)-1], true
}

func drained(j *edge.Journal) func() bool {
	return func() bool {
		last, acked := j.Positions()
		return last > 0 && acked == last
	}
}

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}

func itoa(i int) string { return fmt.Sprint(i) }

// settle waits until the recorder has received nothing for 300ms.
func (r *recorder) settle(tb testing.TB) {
	tb.Helper()
	prev, since := -1, time.Now()
	waitFor(tb, 30*time.Second, "recorder to settle", func() bool {
		r.mu.Lock()
		n := len(r.raw)
		r.mu.Unlock()
		if n != prev {
			prev, since = n, time.Now()
		}
		return time.Since(since) >= 300*time.Millisecond
	})
}

// logBuf collects an uplink's slog output for tests that assert on operator log lines
// (and echoes it to stderr with -v).
type logBuf struct {
	mu    sync.Mutex
	lines []string
	part  []byte
}

func (b *logBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if testing.Verbose() {
		os.Stderr.Write(p)
	}
	b.part = append(b.part, p...)
	for {
		i := strings.IndexByte(string(b.part), '\n')
		if i < 0 {
			break
		}
		b.lines = append(b.lines, string(b.part[:i]))
		b.part = b.part[i+1:]
	}
	return len(p), nil
}

// count returns how many lines contain every one of subs.
func (b *logBuf) count(subs ...string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
next:
	for _, l := range b.lines {
		for _, s := range subs {
			if !strings.Contains(l, s) {
				continue next
			}
		}
		n++
	}
	return n
}

func (b *logBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.lines, "\n")
}

// captureLogger returns a logger whose lines (Debug and above) land in the returned buffer.
func captureLogger(t testing.TB) (*slog.Logger, *logBuf) {
	b := &logBuf{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name()), b
}

// startUplinkLog is startUplink with the given logger.
func startUplinkLog(tb testing.TB, cfg uplink.Config, j uplink.Journal, log *slog.Logger) *running {
	tb.Helper()
	u, err := uplink.New(cfg, depotID, j, nil, log, uplink.WithVersion("test"), uplink.WithDataDir(tb.TempDir()))
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{u: u, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- u.Run(ctx) }()
	tb.Cleanup(func() { r.stop(tb) })
	return r
}

// mustClient connects a plain MQTT client (an ops tool, a test ERP) to broker.
func mustClient(tb testing.TB, broker, id string) mqtt.Client {
	tb.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID(id))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		tb.Fatalf("%s connect %s: %v", id, broker, tok.Error())
	}
	tb.Cleanup(func() { c.Disconnect(50) })
	return c
}

// mustPublish publishes QoS 1 and waits for the PUBACK.
func mustPublish(tb testing.TB, c mqtt.Client, topic, payload string) {
	tb.Helper()
	if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		tb.Fatalf("publish %s: %v", topic, tok.Error())
	}
}
