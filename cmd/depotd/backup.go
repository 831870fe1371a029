package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/console"
)

func init() {
	register("backup", "online backup of the running depotd: depotd backup --config PATH --out FILE", backupCmd)
}

// backupCmd asks the running depotd for a snapshot (GET /api/v1/backup with the config's
// first admin token), verifies what arrived and writes FILE plus FILE.sha256.
func backupCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("depotd backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "/etc/depotd/depotd.yaml", "config file (gives the API address and an admin token)")
	out := fs.String("out", "", "backup file to write (FILE.sha256 is written beside it)")
	timeout := fs.Duration("timeout", 30*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *out == "" {
		fmt.Fprintln(stderr, "depotd backup: --out FILE is required")
		return 2
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		fmt.Fprintln(stderr, "depotd backup:", err)
		return 1
	}
	info, err := takeBackup(ctx, cfg, *out, *timeout)
	if err != nil {
		fmt.Fprintln(stderr, "depotd backup:", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %d bytes, depot %s, last_seq %d, acked_seq %d, sha256 %s\n",
		*out, info.Size, info.Depot, info.LastSeq, info.AckedSeq, info.SHA256)
	return 0
}

// apiBase turns console.listen into a URL the local machine can reach.
func apiBase(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("console.listen %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

func adminToken(cfg *Config) (string, error) {
	for _, t := range cfg.Console.APITokens {
		if t.Role == console.RoleAdmin {
			return t.Token, nil
		}
	}
	return "", fmt.Errorf("no admin token in console.api_tokens: backups need one (role: admin)")
}

func takeBackup(ctx context.Context, cfg *Config, out string, timeout time.Duration) (edge.BackupInfo, error) {
	base, err := apiBase(cfg.Console.Listen)
	if err != nil {
		return edge.BackupInfo{}, err
	}
	tok, err := adminToken(cfg)
	if err != nil {
		return edge.BackupInfo{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/backup", nil)
	if err != nil {
		return edge.BackupInfo{}, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return edge.BackupInfo{}, fmt.Errorf("is depotd running? %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		if json.Unmarshal(raw, &e) != nil || e.Error == "" {
			e.Error = string(raw)
		}
		return edge.BackupInfo{}, fmt.Errorf("%s answered %s: %s", base, resp.Status, e.Error)
	}
	part := out + ".part"
	f, err := os.OpenFile(part, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return edge.BackupInfo{}, err
	}
	defer os.Remove(part)
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(f, h), resp.Body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return edge.BackupInfo{}, fmt.Errorf("receive backup: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	// A cut connection leaves a short file: verification catches it before it is kept.
	info, err := edge.VerifyBackup(part, sum, cfg.Depot.ID, cfg.catalog())
	if err != nil {
		return edge.BackupInfo{}, err
	}
	if err := os.Rename(part, out); err != nil {
		return edge.BackupInfo{}, err
	}
	if err := edge.WriteSumFile(out, sum); err != nil {
		return edge.BackupInfo{}, err
	}
	if d, err := os.Open(filepath.Dir(out)); err == nil {
		d.Sync()
		d.Close()
	}
	return info, nil
}
