package odoo

import (
	"context"
	"log/slog"
)

// NewDownlinkForTest is a downlink for depots with the default config and no state file.
func NewDownlinkForTest(c *Client, depots []Depot) *Downlink {
	return newDownlink(c, DownlinkConfig{}, depots, "", slog.New(slog.DiscardHandler))
}

// Stamp is the poll's question for kind; Build reads kind's payloads in full.
func (d *Downlink) Stamp(ctx context.Context, kind string) (string, error) { return d.stamp(ctx, kind) }
func (d *Downlink) Build(ctx context.Context, kind string) error {
	_, err := d.build(ctx, kind)
	return err
}

// ActionID is the post action's id (looked up as a posting would).
func (p *Poster) ActionID(ctx context.Context) (int, error) { return p.action(ctx) }
