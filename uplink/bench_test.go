package uplink_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/erpsim"
	"github.com/depotd/depotd/uplink/internal/brokertest"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkDrainVsRawPaho measures, in one run against the same mosquitto with the same
// ERP simulator subscribed (at QoS 0, see below), (a) raw paho QoS 1 publishing of N payloads of the size depotd
// sends (in-memory store, window of `inflight` unacknowledged PUBACKs), and (b) depotd
// draining an N-transaction backlog from bbolt until the ERP has acked all of it. It
// reports both rates and drain/raw as "ratio". Run it once:
//
//	go test ./uplink -run '^$' -bench DrainVsRawPaho -benchtime 1x
//
// UPLINK_BENCH_TXS sets N (default 100000), UPLINK_BENCH_WINDOW the window of both
// (default uplink.DefaultInflight). raw_e2e_msgs/s, for context, is the raw rate until the
// subscriber had every message (approximate: it includes up to 0.5s of settling).
func BenchmarkDrainVsRawPaho(b *testing.B) {
	n := envInt("UPLINK_BENCH_TXS", 100_000)
	inflight := envInt("UPLINK_BENCH_WINDOW", uplink.DefaultInflight)
	broker := brokertest.StartMosquitto(b)
	j := mustJournal(b, "")
	b.Logf("posting %d transactions", n)
	post(b, j, 0, n)
	var sample []byte
	j.Scan(b.Context(), 0, func(seq uint64, raw []byte) error {
		sample, _ = uplink.Tx(nil, depotID, seq, raw, false)
		return errStop
	})
	// The simulator subscribes at QoS 0 here: at QoS 1 its own per-message PUBACKs on a
	// 2-core machine, not depotd, bound the drain (about 13k/s measured, against 30k/s).
	// UPLINK_BENCH_SIM_QOS1=1 subscribes it at QoS 1 instead.
	sim := startSim(b, broker.URL(), func(s *erpsim.Sim) { s.AckEvery = 500; s.QoS0 = os.Getenv("UPLINK_BENCH_SIM_QOS1") != "1" })

	for b.Loop() {
		// (a) raw paho.
		c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker.URL()).SetClientID("raw-paho").
			SetCleanSession(true).SetOrderMatters(false).SetWriteTimeout(10 * time.Second))
		if t := c.Connect(); !t.WaitTimeout(10*time.Second) || t.Error() != nil {
			b.Fatal(t.Error())
		}
		payload := strings.Replace(string(sample), `"depot":"D1"`, `"depot":"RAW"`, 1)
		window := make([]mqtt.Token, 0, inflight)
		start := time.Now()
		for i := 0; i < n; i++ {
			if len(window) == inflight {
				if !window[0].WaitTimeout(30*time.Second) || window[0].Error() != nil {
					b.Fatalf("raw publish: %v", window[0].Error())
				}
				window = window[1:]
			}
			window = append(window, c.Publish("depots/RAW/tx", 1, false, []byte(payload)))
		}
		for _, t := range window {
			if !t.WaitTimeout(30*time.Second) || t.Error() != nil {
				b.Fatalf("raw publish: %v", t.Error())
			}
		}
		raw := float64(n) / time.Since(start).Seconds()
		c.Disconnect(100)
		// Let the broker finish fanning the raw messages out to the simulator, so that
		// work does not land in the drain's time.
		rawStart := start
		prev, still := uint64(0), 0
		waitFor(b, 5*time.Minute, "raw fan-out settled", func() bool {
			time.Sleep(100 * time.Millisecond)
			got := sim.Stats("RAW").Received
			if got == prev {
				still++
			} else {
				prev, still = got, 0
			}
			return got >= uint64(n) || still >= 5
		})
		// For context only: raw publishing until the subscriber had it all.
		rawE2E := float64(sim.Stats("RAW").Received) / (time.Since(rawStart) - time.Duration(still)*100*time.Millisecond).Seconds()

		// (b) depotd drain, until every transaction is acked by the ERP.
		start = time.Now()
		r := startUplink(b, uplink.Config{Brokers: []string{broker.URL()}, Inflight: inflight}, j)
		waitFor(b, 10*time.Minute, "drain", drained(j))
		drain := float64(n) / time.Since(start).Seconds()
		r.stop(b)
		if st := sim.Stats(depotID); st.Applied != uint64(n) {
			b.Fatalf("ERP applied %d of %d", st.Applied, n)
		}
		b.ReportMetric(raw, "raw_msgs/s")
		b.ReportMetric(drain, "drain_msgs/s")
		b.ReportMetric(drain/raw, "ratio")
		b.ReportMetric(rawE2E, "raw_e2e_msgs/s")
		b.ReportMetric(float64(len(sample)), "payload_B")
	}
}

var errStop = fmt.Errorf("stop")

// BenchmarkDrainRSS drains a backlog of UPLINK_RSS_TXS (default 1,000,000) transactions in
// a child process (the uplink alone, as depotd runs it) and reports its peak memory from
// /proc/self/status. Expensive (building the journal takes minutes), so it runs only when
// UPLINK_RSS=1:
//
//	UPLINK_RSS=1 go test ./uplink -run '^$' -bench DrainRSS -benchtime 1x -timeout 60m
//
// peak_rss_MiB is VmHWM over the drain (reset after edge.Open with clear_refs);
// open_peak_rss_MiB is VmHWM after edge.Open alone: edge opens bbolt with NoFreelistSync, so
// Open reads every page to rebuild the freelist. *edge.Journal implements
// uplink.MemoryReleaser (edge.Journal.ReleaseMemory, also called at the end of Open), which
// the uplink calls as it reads: without it the bbolt file pages the drain reads through
// mmap stay in the process's RSS (measured: peak 757 MiB for 1M transactions, of which
// 22 MiB anonymous).
func BenchmarkDrainRSS(b *testing.B) {
	if os.Getenv("UPLINK_RSS") != "1" {
		b.Skip("set UPLINK_RSS=1 to build a 1,000,000-transaction journal and measure peak RSS while draining it")
	}
	n := envInt("UPLINK_RSS_TXS", 1_000_000)
	broker := brokertest.StartMosquitto(b)
	db := filepath.Join(b.TempDir(), "depotd.db")
	j := mustJournalNoCleanup(b, db)
	start := time.Now()
	for done := 0; done < n; done += 100_000 {
		post(b, j, done, min(100_000, n-done))
	}
	b.Logf("posted %d transactions in %v", n, time.Since(start).Round(time.Second))
	j.Close()
	if fi, err := os.Stat(db); err == nil {
		b.ReportMetric(float64(fi.Size())/(1<<20), "db_MiB")
	}
	sim := startSim(b, broker.URL(), func(s *erpsim.Sim) { s.AckEvery = 500; s.QoS0 = true })

	for b.Loop() {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "UPLINK_TEST_CHILD=1", "UPLINK_TEST_DB="+db, "UPLINK_TEST_BROKER="+broker.URL(),
			"UPLINK_TEST_EXIT_WHEN_DRAINED=1")
		out, err := cmd.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		start := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		vals := map[string]float64{}
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var k string
			var v float64
			if _, err := fmt.Sscanf(sc.Text(), "%s %f", &k, &v); err == nil {
				vals[k] = v
			}
		}
		if err := cmd.Wait(); err != nil {
			b.Fatalf("child: %v", err)
		}
		elapsed := time.Since(start)
		if st := sim.Stats(depotID); st.Applied != uint64(n) {
			b.Fatalf("ERP applied %d of %d", st.Applied, n)
		}
		b.ReportMetric(vals["VmHWM"]/1024, "peak_rss_MiB")
		b.ReportMetric(vals["OpenHWM"]/1024, "open_peak_rss_MiB")
		b.ReportMetric(vals["PeakRssAnon"]/1024, "peak_anon_MiB")
		b.ReportMetric(vals["RssFile"]/1024, "end_file_rss_MiB")
		b.ReportMetric(float64(n)/elapsed.Seconds(), "drain_msgs/s")
	}
}
