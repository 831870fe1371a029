package main

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// TestDemoRunsTheWholeLoop runs `depotd demo` as a newcomer would and waits until a
// simulated operator's scans have become transactions that the simulated ERP acknowledged
// over the embedded broker.
func TestDemoRunsTheWholeLoop(t *testing.T) {
	bin := depotdBinary(t)
	p := startProc(t, bin, "demo", "--listen", "127.0.0.1:0", "--broker-listen", "127.0.0.1:0", "--scan-every", "1s")
	deadline := time.Now().Add(60 * time.Second)
	var st struct {
		LastSeq  uint64 `json:"last_seq"`
		AckedSeq uint64 `json:"acked_seq"`
		Uplink   struct {
			Online bool `json:"online"`
		} `json:"uplink"`
	}
	for {
		req, _ := http.NewRequest("GET", "http://"+p.addr+"/api/v1/status", nil)
		req.Header.Set("Authorization", "Bearer demo-operator-token-0001")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
		}
		if err == nil && st.Uplink.Online && st.AckedSeq >= 1 && st.LastSeq >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no acknowledged station transaction after 60s: status %+v (err %v)\n%s", st, err, p.logText())
		}
		time.Sleep(200 * time.Millisecond)
	}
}
