package sim_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/depotd/depotd/devices/sim"
)

func TestScannerFrames(t *testing.T) {
	for _, c := range []struct {
		framing   sim.ScannerFraming
		aim, data string
		want      string
	}{
		{sim.ScannerFraming{Suffix: "\r"}, "]C1", "0109501101530003\x1d10LOT", "]C10109501101530003\x1d10LOT\r"},
		{sim.ScannerFraming{Prefix: "\x02", Suffix: "\x03"}, "]E0", "4006381333931", "\x02]E04006381333931\x03"},
		{sim.ScannerFraming{Suffix: "\r\n", NoAIM: true}, "]E0", "4006381333931", "4006381333931\r\n"},
		{sim.ScannerFraming{}, "", "ABC", "ABC"},
	} {
		p, err := sim.NewScanner(t.TempDir()+"/s", c.framing)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(p.Frame(c.aim, c.data)); got != c.want {
			t.Errorf("Frame(%q, %q) = %q, want %q", c.aim, c.data, got, c.want)
		}
		s := openSerial(t, p.Link())
		if err := p.Scan(c.aim, c.data); err != nil {
			t.Fatal(err)
		}
		if got := readFull(t, s, len(c.want)); string(got) != c.want {
			t.Errorf("on the wire %q, want %q", got, c.want)
		}
		s.Close()
		p.Close()
	}
}

func TestScannerSlowlyAndGarbage(t *testing.T) {
	p, err := sim.NewScanner(t.TempDir()+"/s", sim.ScannerFraming{Suffix: "\r"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	s := openSerial(t, p.Link())
	defer s.Close()
	if err := p.ScanSlowly(context.Background(), "]E4", "96385074", time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if got := readFull(t, s, 12); string(got) != "]E496385074\r" {
		t.Fatalf("slow scan %q", got)
	}
	if err := p.Garbage(rand.New(rand.NewPCG(7, 7)), 100); err != nil {
		t.Fatal(err)
	}
	if got := readFull(t, s, 101); len(got) != 101 || got[100] != '\r' {
		t.Fatalf("garbage: %d bytes, last %q", len(got), got[len(got)-1:])
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.ScanSlowly(ctx, "", "123", time.Hour); err == nil {
		t.Fatal("ScanSlowly ignored a cancelled context")
	}
}
