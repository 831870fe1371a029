package guesttest

import (
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// cpioFile is one entry of an initramfs: a regular file (Data), a directory (Dir) or a
// symlink (Link).
type cpioFile struct {
	Mode uint32 // permission bits
	Data []byte
	Dir  bool
	Link string
}

// writeCPIO writes files as a "newc" cpio archive, the format the kernel unpacks as an
// initramfs (Documentation/driver-api/early-userspace/buffer-format.rst). Parent
// directories are added as needed. Written here because the host may have no cpio and
// the format is eight lines of headers.
func writeCPIO(w io.Writer, files map[string]cpioFile) error {
	all := map[string]cpioFile{}
	for name, f := range files {
		name = strings.TrimPrefix(path.Clean("/"+name), "/")
		all[name] = f
		for d := path.Dir(name); d != "." && d != "/"; d = path.Dir(d) {
			if _, ok := all[d]; !ok {
				all[d] = cpioFile{Dir: true, Mode: 0o755}
			}
		}
	}
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names) // parents before children
	ino := 1
	for _, n := range names {
		f := all[n]
		mode, data := f.Mode&0o7777|0o100000, f.Data
		switch {
		case f.Dir:
			mode, data = f.Mode&0o7777|0o040000, nil
		case f.Link != "":
			mode, data = 0o120777, []byte(f.Link)
		}
		if err := cpioEntry(w, ino, n, mode, data); err != nil {
			return err
		}
		ino++
	}
	return cpioEntry(w, 0, "TRAILER!!!", 0, nil)
}

func cpioEntry(w io.Writer, ino int, name string, mode uint32, data []byte) error {
	nlink := 1
	if mode&0o170000 == 0o040000 {
		nlink = 2
	}
	// magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor,
	// rdevminor, namesize (with its NUL), check.
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		ino, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
	buf := make([]byte, 0, len(hdr)+len(name)+8+len(data)+4)
	buf = append(buf, hdr...)
	buf = append(buf, name...)
	buf = append(buf, 0)
	buf = pad4(buf)
	buf = append(buf, data...)
	buf = pad4(buf)
	_, err := w.Write(buf)
	return err
}

func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}
