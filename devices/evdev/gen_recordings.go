//go:build ignore

// gen_recordings writes the recorded event streams under testdata/: the bytes a USB
// keyboard-wedge scanner produces on /dev/input/eventN, as the kernel's struct
// input_event (reference §2.2), for scripted keystrokes in each layout. Each recording
// comes with a .json case file naming the layout, options and the frames a correct
// decoder yields.
//
// The keystroke scripts name key codes by hand, per layout, independent of the decoder's
// layout tables, so a mistake in either shows up as a failing test.
//
//	cd devices/evdev && go run gen_recordings.go
package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"log"
	"os"
	"path/filepath"
)

// inputEvent64 is struct input_event on 64-bit Linux: timeval (16), type, code, value.
type inputEvent64 struct {
	Sec, Usec int64
	Type      uint16
	Code      uint16
	Value     int32
}

// inputEvent32 is struct input_event on 32-bit ARM: two 32-bit time fields.
type inputEvent32 struct {
	Sec, Usec int32
	Type      uint16
	Code      uint16
	Value     int32
}

const (
	evSyn, evKey, evMsc = 0, 1, 4
	mscScan             = 4
	lshift, lctrl, lalt = 42, 29, 56
	altgr               = 100
	enter, kpEnter      = 28, 96
)

type rec struct {
	events []inputEvent64
	usec   int64
}

// emit appends one event; each key action is preceded by MSC_SCAN with the HID usage
// and followed by SYN_REPORT, as the kernel's usbhid delivers keyboard reports.
func (r *rec) emit(typ, code uint16, val int32) {
	r.usec += 1000 // a scanner types about one key per millisecond
	r.events = append(r.events, inputEvent64{Sec: 1764000000 + r.usec/1e6, Usec: r.usec % 1e6, Type: typ, Code: code, Value: val})
}

func (r *rec) key(code uint16, val int32) {
	r.emit(evMsc, mscScan, 0x70000+int32(code))
	r.emit(evKey, code, val)
	r.emit(evSyn, 0, 0)
}

// tap presses and releases code with the given modifiers held.
func (r *rec) tap(code uint16, mods ...uint16) {
	for _, m := range mods {
		r.key(m, 1)
	}
	r.key(code, 1)
	r.key(code, 0)
	for i := len(mods) - 1; i >= 0; i-- {
		r.key(mods[i], 0)
	}
}

// usDigits are the top-row codes of 0–9 (positions are the same in US, DE and FR).
var topDigit = map[rune]uint16{'1': 2, '2': 3, '3': 4, '4': 5, '5': 6, '6': 7, '7': 8, '8': 9, '9': 10, '0': 11}
var kpDigit = map[rune]uint16{'7': 71, '8': 72, '9': 73, '4': 75, '5': 76, '6': 77, '1': 79, '2': 80, '3': 81, '0': 82}

func (r *rec) digits(s string, mods ...uint16) {
	for _, c := range s {
		r.tap(topDigit[c], mods...)
	}
}

func (r *rec) kpDigits(s string) {
	for _, c := range s {
		r.tap(kpDigit[c])
	}
}

// altCode types Alt+ddd on the keypad (Zebra's way of sending GS).
func (r *rec) altCode(ddd string) {
	r.key(lalt, 1)
	r.kpDigits(ddd)
	r.key(lalt, 0)
}

type wantFrame struct {
	AIM  string `json:"aim,omitempty"`
	Data string `json:"data,omitempty"`
	Bad  string `json:"bad,omitempty"` // substring of the refusal reason
}

type caseFile struct {
	Layout       string      `json:"layout"`
	GSSubstitute string      `json:"gs_substitute,omitempty"`
	EventSize    int         `json:"event_size"`
	Frames       []wantFrame `json:"frames"`
}

func write(name string, c caseFile, r *rec) {
	var b bytes.Buffer
	for _, e := range r.events {
		var err error
		if c.EventSize == 16 {
			err = binary.Write(&b, binary.LittleEndian, inputEvent32{int32(e.Sec), int32(e.Usec), e.Type, e.Code, e.Value})
		} else {
			err = binary.Write(&b, binary.LittleEndian, e)
		}
		if err != nil {
			log.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join("testdata", name+".evdev"), b.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
	j, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", name+".json"), append(j, '\n'), 0o644); err != nil {
		log.Fatal(err)
	}
}

func us(size int) {
	r := &rec{}
	// ]C1 0109501101530003 <Ctrl+]> 10ABC-12 Enter
	r.tap(27)
	r.tap(46, lshift)
	r.digits("1")
	r.digits("0109501101530003")
	r.tap(27, lctrl)
	r.digits("10")
	r.tap(30, lshift)
	r.tap(48, lshift)
	r.tap(46, lshift)
	r.tap(12)
	r.digits("12")
	r.tap(enter)
	// ]E0 on the top row, the digits on the keypad, keypad Enter; an autorepeat of '4'
	// in the middle must not add a character.
	r.tap(27)
	r.tap(18, lshift)
	r.digits("0")
	r.kpDigits("40063")
	r.key(kpDigit['8'], 1)
	r.key(kpDigit['8'], 2)
	r.key(kpDigit['8'], 2)
	r.key(kpDigit['8'], 0)
	r.kpDigits("1333931")
	r.tap(kpEnter)
	// A QR Digital Link without AIM ID: https://id.gs1.org/01/09506000134352?x=Y_z
	for _, k := range []struct {
		code  uint16
		shift bool
	}{{35, false}, {20, false}, {20, false}, {25, false}, {31, false}, {39, true}, {53, false}, {53, false},
		{23, false}, {32, false}, {52, false}, {34, false}, {31, false}} {
		if k.shift {
			r.tap(k.code, lshift)
		} else {
			r.tap(k.code)
		}
	}
	r.digits("1")
	r.tap(52)
	r.tap(24)
	r.tap(19)
	r.tap(34)
	r.tap(53)
	r.digits("01")
	r.tap(53)
	r.digits("09506000134352")
	r.tap(53, lshift)
	r.tap(45)
	r.tap(13)
	r.tap(21, lshift)
	r.tap(12, lshift)
	r.tap(44)
	r.tap(enter)
	// Empty line (a second Enter) yields nothing.
	r.tap(enter)
	// F1 inside a scan: refused as unmapped.
	r.digits("12")
	r.tap(59)
	r.digits("3")
	r.tap(enter)
	// Ctrl+G (BEL) inside a scan: refused as a control byte.
	r.digits("45")
	r.tap(34, lctrl)
	r.tap(enter)
	write(map[int]string{24: "us", 16: "us_arm32"}[size], caseFile{Layout: "us", EventSize: size, Frames: []wantFrame{
		{AIM: "]C1", Data: "0109501101530003\x1d10ABC-12"},
		{AIM: "]E0", Data: "4006381333931"},
		{Data: "https://id.gs1.org/01/09506000134352?x=Y_z"},
		{Bad: "key not in layout: code 59"},
		{Bad: "control byte in frame 0x07 at data offset 2"},
	}}, r)
}

func de() {
	r := &rec{}
	// ]C1 0109501101530003 <Ctrl+]> 10XYZ-7 Enter: ] is AltGr+9, Y and Z swapped, - right of .
	r.tap(10, altgr)
	r.tap(46, lshift)
	r.digits("1")
	r.digits("0109501101530003")
	r.tap(27, lctrl)
	r.digits("10")
	r.tap(45, lshift)
	r.tap(44, lshift)
	r.tap(21, lshift)
	r.tap(53)
	r.digits("7")
	r.tap(enter)
	// ]d2 with GS as Alt+029 on the keypad (Zebra), twice, then 21ABC.
	r.tap(10, altgr)
	r.tap(32)
	r.digits("2")
	r.altCode("029")
	r.digits("0104012345678901")
	r.altCode("029")
	r.digits("21")
	r.tap(30, lshift)
	r.tap(48, lshift)
	r.tap(46, lshift)
	r.tap(enter)
	// A^B@c: ^ is the dead key left of 1 followed by space, @ is AltGr+Q.
	r.tap(30, lshift)
	r.tap(41)
	r.tap(57)
	r.tap(48, lshift)
	r.tap(16, altgr)
	r.tap(46)
	r.tap(enter)
	write("de", caseFile{Layout: "de", EventSize: 24, Frames: []wantFrame{
		{AIM: "]C1", Data: "0109501101530003\x1d10XYZ-7"},
		{AIM: "]d2", Data: "\x1d0104012345678901\x1d21ABC"},
		{Data: "A^B@c"},
	}}, r)
}

func fr() {
	r := &rec{}
	// ]C1 0109501101530003 <Ctrl+]> 10AZQW-.9 Enter: ] is AltGr+), digits need Shift,
	// A/Q and Z/W swapped, - is unshifted 6, . is Shift+;.
	r.tap(12, altgr)
	r.tap(46, lshift)
	r.digits("1", lshift)
	r.digits("0109501101530003", lshift)
	r.tap(27, lctrl)
	r.digits("10", lshift)
	r.tap(16, lshift)
	r.tap(17, lshift)
	r.tap(30, lshift)
	r.tap(44, lshift)
	r.tap(7)
	r.tap(51, lshift)
	r.digits("9", lshift)
	r.tap(enter)
	// A scanner left in US layout on an AZERTY host: unshifted digit keys give é & ...
	// The decoder cannot know; the line is accepted as typed and the barcode layer
	// refuses it. This is why `layout` must match the scanner's setting.
	r.digits("12")
	r.tap(enter)
	write("fr", caseFile{Layout: "fr", EventSize: 24, Frames: []wantFrame{
		{AIM: "]C1", Data: "0109501101530003\x1d10AZQW-.9"},
		{Data: "&é"},
	}}, r)

	// GS substitute: the scanner sends * (the key left of Enter's lower half on AZERTY)
	// for FNC1.
	r = &rec{}
	r.tap(12, altgr)
	r.tap(46, lshift)
	r.digits("1", lshift)
	r.digits("0109501101530003", lshift)
	r.tap(43)
	r.digits("10", lshift)
	r.tap(38, lshift)
	r.tap(24, lshift)
	r.tap(20, lshift)
	r.tap(enter)
	write("fr_gs_substitute", caseFile{Layout: "fr", GSSubstitute: "*", EventSize: 24, Frames: []wantFrame{
		{AIM: "]C1", Data: "0109501101530003\x1d10LOT"},
	}}, r)
}

func main() {
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		log.Fatal(err)
	}
	us(24)
	us(16)
	de()
	fr()
}
