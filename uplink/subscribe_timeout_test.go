package uplink_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/embedbroker"
)

// TestASlowSubackIsWaitedForNotSubscribedAgain: a broker that takes longer than the
// connect timeout (10 s) to answer SUBSCRIBE, as a NATS cluster creating a burst of
// JetStream consumers does, is waited for up to uplink.subscribe_timeout: the depot sends
// one CONNECT and one SUBSCRIBE and comes online, instead of giving up and subscribing
// again (which on NATS piles more consumers onto the queue it was waiting on).
func TestASlowSubackIsWaitedForNotSubscribedAgain(t *testing.T) {
	const delay = 12 * time.Second // beyond the uplink's 10 s connect timeout
	p := startSubackDelayProxy(t, delay)
	r := startUplink(t, uplink.Config{Brokers: []string{"tcp://" + p.addr}, SubscribeTimeout: 30 * time.Second}, mustJournal(t, ""))
	waitFor(t, 60*time.Second, "online behind the slow SUBACK", func() bool { return r.u.State().Online })
	if c, s := p.connects.Load(), p.subscribes.Load(); c != 1 || s != 1 {
		t.Fatalf("%d CONNECTs and %d SUBSCRIBEs before online, want 1 and 1: the depot gave up on the slow SUBACK", c, s)
	}
}

// TestASubackLaterThanSubscribeTimeoutEndsTheConnection: the wait is bounded by
// uplink.subscribe_timeout, so a broker that never answers does not leave the depot
// connected but deaf: it reconnects and subscribes again.
func TestASubackLaterThanSubscribeTimeoutEndsTheConnection(t *testing.T) {
	p := startSubackDelayProxy(t, 4*time.Second)
	r := startUplink(t, uplink.Config{Brokers: []string{"tcp://" + p.addr}, SubscribeTimeout: time.Second}, mustJournal(t, ""))
	waitFor(t, 30*time.Second, "a second SUBSCRIBE after a timed-out one", func() bool { return p.subscribes.Load() >= 2 })
	if r.u.State().Online {
		t.Fatal("online although no SUBACK came within subscribe_timeout")
	}
}

// subackDelayProxy forwards MQTT between the uplink and an embedded broker, counting the
// client's CONNECT and SUBSCRIBE packets and holding each SUBACK back for delay.
type subackDelayProxy struct {
	addr                 string
	connects, subscribes atomic.Int64
}

func startSubackDelayProxy(t *testing.T, delay time.Duration) *subackDelayProxy {
	t.Helper()
	bl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); embedbroker.Serve(ctx, bl, nil) }()
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &subackDelayProxy{addr: pl.Addr().String()}
	var cmu sync.Mutex
	var conns []net.Conn
	track := func(c net.Conn) {
		cmu.Lock()
		conns = append(conns, c)
		cmu.Unlock()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			cc, err := pl.Accept()
			if err != nil {
				return
			}
			bc, err := net.Dial("tcp", bl.Addr().String())
			if err != nil {
				cc.Close()
				continue
			}
			track(cc)
			track(bc)
			wg.Add(2)
			go func() {
				defer wg.Done()
				defer bc.Close()
				copyPackets(cc, bc, func(typ byte) {
					switch typ {
					case 1:
						p.connects.Add(1)
					case 8:
						p.subscribes.Add(1)
					}
				})
			}()
			go func() {
				defer wg.Done()
				defer cc.Close()
				copyPackets(bc, cc, func(typ byte) {
					if typ == 9 {
						select {
						case <-time.After(delay):
						case <-ctx.Done():
						}
					}
				})
			}()
		}
	}()
	t.Cleanup(func() {
		cancel()
		pl.Close()
		cmu.Lock()
		for _, c := range conns {
			c.Close()
		}
		cmu.Unlock()
		wg.Wait()
	})
	return p
}

// copyPackets copies whole MQTT packets from src to dst, calling before(type) ahead of
// forwarding each one, until either side fails.
func copyPackets(src io.Reader, dst io.Writer, before func(typ byte)) {
	for {
		pkt, err := readPacket(src)
		if err != nil {
			return
		}
		before(pkt[0] >> 4)
		if _, err := dst.Write(pkt); err != nil {
			return
		}
	}
}

// readPacket reads one MQTT control packet: the fixed header byte, the remaining length
// (1 to 4 bytes, 7 bits each, MQTT 3.1.1 §2.2.3) and the rest.
func readPacket(r io.Reader) ([]byte, error) {
	hdr := make([]byte, 1, 5)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, err
	}
	n, mult := 0, 1
	for i := 0; ; i++ {
		if i == 4 {
			return nil, errors.New("malformed remaining length")
		}
		var b [1]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, err
		}
		hdr = append(hdr, b[0])
		n += int(b[0]&0x7f) * mult
		mult *= 128
		if b[0]&0x80 == 0 {
			break
		}
	}
	pkt := make([]byte, len(hdr)+n)
	copy(pkt, hdr)
	if _, err := io.ReadFull(r, pkt[len(hdr):]); err != nil {
		return nil, err
	}
	return pkt, nil
}
