package console

import (
	"bufio"
	"fmt"

	"github.com/gofiber/fiber/v2"
)

// backup streams a consistent snapshot of the database (GET /api/v1/backup, admin only):
// one bbolt read transaction's WriteTo, the primitive `depotd backup` uses while depotd
// runs. The client verifies what it received (length against the meta page, bbolt and
// journal checks) and writes the checksum beside it. The read transaction lasts as long as
// the download, which is why only admins may start one: while it runs, a commit that must
// grow the file waits for it.
func (s *Server) backup(c *fiber.Ctx) error {
	if !roleOf(c).AtLeast(RoleAdmin) {
		return apiError(c, fiber.StatusForbidden, fmt.Sprintf("role %s may not take backups (needs admin)", roleOf(c)), "")
	}
	c.Set(fiber.HeaderContentType, "application/octet-stream")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="depotd-`+s.j.Depot()+`.db"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		info, err := s.j.WriteBackup(w)
		if err == nil {
			err = w.Flush()
		}
		if err != nil {
			// The client sees a short body and refuses it; nothing else can be said now.
			s.log.Error("backup stream failed", "err", err)
			return
		}
		s.log.Info("backup served", "bytes", info.Size, "last_seq", info.LastSeq, "sha256", info.SHA256)
	})
	return nil
}
