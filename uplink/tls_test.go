package uplink_test

import (
	"crypto/ecdsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/internal/brokertest"
)

type pki struct{ dir string }

// writeCert is brokertest.WriteCert into p.dir.
func (p pki) writeCert(t *testing.T, name string, tmpl *x509.Certificate, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	return brokertest.WriteCert(t, p.dir, name, tmpl, parent, parentKey)
}

func (p pki) path(name string) string { return filepath.Join(p.dir, name) }

// Mutual TLS against mosquitto: the uplink verifies the broker against the configured CA
// (by IP) and presents its client certificate; without it, or with another CA, no
// connection.
func TestMutualTLS(t *testing.T) {
	p := pki{t.TempDir()}
	ca, caKey := p.writeCert(t, "ca", &x509.Certificate{Subject: pkix.Name{CommonName: "depotd test CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}, nil, nil)
	p.writeCert(t, "server", &x509.Certificate{Subject: pkix.Name{CommonName: "broker"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}, ca, caKey)
	p.writeCert(t, "client", &x509.Certificate{Subject: pkix.Name{CommonName: "D1"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}, ca, caKey)
	p.writeCert(t, "other-ca", &x509.Certificate{Subject: pkix.Name{CommonName: "someone else"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}, nil, nil)

	b := brokertest.StartMosquittoTLS(t, p.path("ca.pem"), p.path("server.pem"), p.path("server.key"))
	if !strings.HasPrefix(b.URL(), "ssl://") {
		t.Fatalf("URL %s", b.URL())
	}
	j := mustJournal(t, "")
	post(t, j, 0, 5)

	for _, bad := range []uplink.TLSConfig{
		{CAFile: p.path("other-ca.pem"), CertFile: p.path("client.pem"), KeyFile: p.path("client.key")}, // broker not trusted
		{CAFile: p.path("ca.pem")}, // no client certificate
	} {
		r := startUplink(t, uplink.Config{Brokers: []string{b.URL()}, TLS: bad}, j)
		waitFor(t, 10*time.Second, "a TLS failure", func() bool { return r.u.State().LastError != "" })
		if r.u.State().Online {
			t.Fatalf("online with %+v", bad)
		}
		r.stop(t)
	}

	good := uplink.TLSConfig{CAFile: p.path("ca.pem"), CertFile: p.path("client.pem"), KeyFile: p.path("client.key")}
	r := startUplink(t, uplink.Config{Brokers: []string{strings.Replace(b.URL(), "ssl://", "mqtts://", 1)}, TLS: good}, j)
	waitFor(t, 10*time.Second, "online over mutual TLS", func() bool { return r.u.State().Online })
}

// MQTT over WebSocket with TLS (wss://) against mosquitto: the uplink verifies the broker
// against the configured CA and drains; the ERP simulator is on the plain listener.
func TestWebSocketTLS(t *testing.T) {
	p := pki{t.TempDir()}
	ca, caKey := p.writeCert(t, "ca", &x509.Certificate{Subject: pkix.Name{CommonName: "depotd test CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}, nil, nil)
	p.writeCert(t, "server", &x509.Certificate{Subject: pkix.Name{CommonName: "broker"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}, ca, caKey)
	p.writeCert(t, "other-ca", &x509.Certificate{Subject: pkix.Name{CommonName: "someone else"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}, nil, nil)
	b, wss := brokertest.StartMosquittoWSS(t, p.path("server.pem"), p.path("server.key"))
	j := mustJournal(t, "")
	post(t, j, 0, 50)
	startSim(t, b.URL(), nil)

	r := startUplink(t, uplink.Config{Brokers: []string{wss}, TLS: uplink.TLSConfig{CAFile: p.path("other-ca.pem")}}, j)
	waitFor(t, 10*time.Second, "a certificate failure", func() bool {
		return strings.Contains(r.u.State().LastError, "certificate signed by unknown authority")
	})
	if r.u.State().Online {
		t.Fatal("online with a broker signed by another CA")
	}
	r.stop(t)

	startUplink(t, uplink.Config{Brokers: []string{wss}, TLS: uplink.TLSConfig{CAFile: p.path("ca.pem")}}, j)
	waitFor(t, 20*time.Second, "drained over wss://", drained(j))
}
