package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// envLoadGen turns the test binary into BenchmarkHTTPIngest's load generator: its value is
// "ADDR CLIENTS". The clients run in their own process so that the benchmark's getrusage
// of itself counts the server alone.
const envLoadGen = "DEPOTD_BENCH_LOADGEN"

func TestMain(m *testing.M) {
	if spec := os.Getenv(envLoadGen); spec != "" {
		if err := runLoadGen(spec, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "load generator:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runLoadGen serves rounds until in ends: each line of in is a number of requests to post
// with the keep-alive clients; each answer on out is one line, "ok CPU-NS LAT-NS..." (the
// process's CPU over the round and each request's latency) or "error MESSAGE".
func runLoadGen(spec string, in io.Reader, out io.Writer) error {
	addr, n, ok := strings.Cut(spec, " ")
	clients, err := strconv.Atoi(n)
	if !ok || err != nil || clients < 1 {
		return fmt.Errorf("%s=%q: want \"ADDR CLIENTS\"", envLoadGen, spec)
	}
	conns := make([]*fasthttp.HostClient, clients)
	for i := range conns {
		conns[i] = &fasthttp.HostClient{Addr: addr, MaxConns: 1, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	}
	var next atomic.Int64
	sc := bufio.NewScanner(in)
	w := bufio.NewWriter(out)
	for sc.Scan() {
		total, err := strconv.Atoi(sc.Text())
		if err != nil {
			return fmt.Errorf("round %q: %w", sc.Text(), err)
		}
		lat, cpu, err := loadRound(conns, addr, total, &next)
		if err != nil {
			fmt.Fprintf(w, "error %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		} else {
			fmt.Fprintf(w, "ok %d", cpu.Nanoseconds())
			for _, l := range lat {
				fmt.Fprintf(w, " %d", l.Nanoseconds())
			}
			fmt.Fprintln(w)
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	return sc.Err()
}

// loadRound posts total transactions, one per request, spread over the clients, each
// waiting for its answer before the next.
func loadRound(conns []*fasthttp.HostClient, addr string, total int, next *atomic.Int64) ([]time.Duration, time.Duration, error) {
	cpu0 := rusageSelf()
	var left atomic.Int64
	left.Store(int64(total))
	var mu sync.Mutex
	lat := make([]time.Duration, 0, total)
	var firstErr error
	var wg sync.WaitGroup
	for _, hc := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			mine := make([]time.Duration, 0, total/len(conns)+1)
			var err error
			for left.Add(-1) >= 0 {
				i := next.Add(1)
				req.Reset()
				req.SetRequestURI("http://" + addr + "/api/v1/transactions")
				req.Header.SetMethod(fasthttp.MethodPost)
				req.Header.SetContentType("application/json")
				req.Header.Set("Authorization", "Bearer "+benchToken)
				req.SetBodyString(fmt.Sprintf(`{"id":"bench-%d","type":"receipt","ref":"PO%06d","lines":[{"item":"SKU-%04d","qty":"12","lot":"L1","expiry":"2027-01-31","to":"WH/Stock"}]}`, i, i/20, i%benchItems))
				t0 := time.Now()
				if err = hc.Do(req, resp); err != nil {
					break
				}
				mine = append(mine, time.Since(t0))
				if resp.StatusCode() != fasthttp.StatusCreated {
					err = fmt.Errorf("status %d: %s", resp.StatusCode(), resp.Body())
					break
				}
			}
			mu.Lock()
			defer mu.Unlock()
			lat = append(lat, mine...)
			if err != nil && firstErr == nil {
				firstErr = err
				left.Store(0)
			}
		}()
	}
	wg.Wait()
	return lat, rusageSelf() - cpu0, firstErr
}

// loadGen is the parent's end of a load generator process.
type loadGen struct {
	in  io.WriteCloser
	out *bufio.Reader
}

type roundResult struct {
	lat []time.Duration
	cpu time.Duration // the load generator's
}

// startLoadGen runs the test binary again as a load generator with clients keep-alive
// connections to addr; it ends with tb.
func startLoadGen(tb testing.TB, addr string, clients int) *loadGen {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d", envLoadGen, addr, clients))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		in.Close()
		if err := cmd.Wait(); err != nil {
			tb.Errorf("load generator: %v", err)
		}
	})
	return &loadGen{in: in, out: bufio.NewReaderSize(out, 1<<16)}
}

// round has the load generator post n transactions and returns what it measured.
func (g *loadGen) round(tb testing.TB, n int) roundResult {
	if _, err := fmt.Fprintf(g.in, "%d\n", n); err != nil {
		tb.Fatal(err)
	}
	line, err := g.out.ReadString('\n')
	if err != nil {
		tb.Fatalf("load generator: %v", err)
	}
	f := strings.Fields(line)
	if len(f) < 2 || f[0] != "ok" {
		tb.Fatalf("load generator: %s", line)
	}
	var res roundResult
	cpu, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		tb.Fatalf("load generator: %q: %v", line, err)
	}
	res.cpu = time.Duration(cpu)
	for _, s := range f[2:] {
		ns, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			tb.Fatalf("load generator: %q: %v", s, err)
		}
		res.lat = append(res.lat, time.Duration(ns))
	}
	if len(res.lat) != n {
		tb.Fatalf("load generator answered %d of %d requests", len(res.lat), n)
	}
	return res
}
