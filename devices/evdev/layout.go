package evdev

import (
	"fmt"
	"sort"
	"strings"
)

// Linux key codes (include/uapi/linux/input-event-codes.h) the decoder treats specially.
const (
	keyEnter      = 28
	keyLeftCtrl   = 29
	keyLeftShift  = 42
	keyRightShift = 54
	keyLeftAlt    = 56
	keySpace      = 57
	keyKPEnter    = 96
	keyRightCtrl  = 97
	keyRightAlt   = 100 // AltGr on European layouts
	keyLeftBrace  = 26
	keyRightBrace = 27
	keyBackslash  = 43
)

// keypad maps keypad codes to their characters (NumLock on: scanners that use the keypad
// expect it, and the Alt+code sequences need it).
var keypad = map[uint16]rune{71: '7', 72: '8', 73: '9', 74: '-', 75: '4', 76: '5', 77: '6', 78: '+',
	79: '1', 80: '2', 81: '3', 82: '0', 83: '.', 55: '*', 98: '/'}

// keyChar is what one key level produces; dead keys only modify the next key.
type keyChar struct {
	r    rune
	dead bool
}

// Layout maps key codes (positions) to characters for one keyboard layout: the layout
// the scanner is configured to type in, which must equal this one for the scan to
// decode right (reference §2.2: codes are positions, not characters).
type Layout struct {
	Name  string
	keys  map[uint16][3]keyChar // normal, shift, altgr
	lower map[uint16]rune       // the key's unshifted letter, for Ctrl+letter
}

// Levels of a key.
const (
	levelNormal = iota
	levelShift
	levelAltGr
)

// row builds keys from parallel strings of normal, shift and altgr characters for
// consecutive codes; a space in shift/altgr means "nothing", '§'-style characters are
// literal. Dead keys are listed separately.
func (l *Layout) row(first uint16, normal, shift, altgr string) {
	n, s, a := []rune(normal), []rune(shift), []rune(altgr)
	for i := range n {
		code := first + uint16(i)
		var k [3]keyChar
		k[levelNormal] = keyChar{r: n[i]}
		if i < len(s) && s[i] != ' ' {
			k[levelShift] = keyChar{r: s[i]}
		}
		if i < len(a) && a[i] != ' ' {
			k[levelAltGr] = keyChar{r: a[i]}
		}
		l.keys[code] = k
	}
}

func (l *Layout) dead(code uint16, level int) {
	k := l.keys[code]
	k[level].dead = true
	l.keys[code] = k
}

func newLayout(name string) *Layout {
	return &Layout{Name: name, keys: make(map[uint16][3]keyChar)}
}

// finish adds the keys every layout shares (space) and indexes letters for Ctrl.
func (l *Layout) finish() *Layout {
	l.keys[keySpace] = [3]keyChar{{r: ' '}, {r: ' '}, {r: ' '}}
	l.lower = make(map[uint16]rune)
	for code, k := range l.keys {
		if r := k[levelNormal].r; r >= 'a' && r <= 'z' {
			l.lower[code] = r
		}
	}
	return l
}

// US is the US (ANSI) layout, most scanners' factory setting.
var US = func() *Layout {
	l := newLayout("us")
	l.row(2, "1234567890-=", "!@#$%^&*()_+", "")
	l.row(16, "qwertyuiop[]", "QWERTYUIOP{}", "")
	l.row(30, "asdfghjkl;'`", `ASDFGHJKL:"~`, "")
	l.row(43, `\zxcvbnm,./`, "|ZXCVBNM<>?", "")
	l.row(86, `\`, "|", "")
	return l.finish()
}()

// DE is the German QWERTZ layout (kbd "de"): Y and Z swapped, AltGr for @ [ ] { } \ ~ |,
// dead ^ ´ `.
var DE = func() *Layout {
	l := newLayout("de")
	l.row(2, "1234567890ß´", "!\"§$%&/()=?`", " ²³   {[]}\\ ")
	l.row(16, "qwertzuiopü+", "QWERTZUIOPÜ*", "@ €        ~")
	l.row(30, "asdfghjklöä^", "ASDFGHJKLÖÄ°", "")
	l.row(43, "#yxcvbnm,.-", "'YXCVBNM;:_", "       µ   ")
	l.row(86, "<", ">", "|")
	l.dead(13, levelNormal) // ´
	l.dead(13, levelShift)  // `
	l.dead(41, levelNormal) // ^
	return l.finish()
}()

// FR is the French AZERTY layout (kbd "fr"): digits on Shift, A/Q and Z/W swapped, M
// beside L, AltGr for # { [ | \ ^ @ ] } and dead ^ ¨ ~ `.
var FR = func() *Layout {
	l := newLayout("fr")
	l.row(2, "&é\"'(-è_çà)=", "1234567890°+", " ~#{[|`\\^@]}")
	l.row(16, "azertyuiop^$", "AZERTYUIOP¨£", "  €        ¤")
	l.row(30, "qsdfghjklmù²", "QSDFGHJKLM% ", "")
	l.row(43, "*wxcvbn,;:!", "µWXCVBN?./§", "")
	l.row(86, "<", ">", "")
	l.dead(26, levelNormal) // ^
	l.dead(26, levelShift)  // ¨
	l.dead(3, levelAltGr)   // ~
	l.dead(8, levelAltGr)   // `
	return l.finish()
}()

var layouts = map[string]*Layout{"us": US, "de": DE, "fr": FR}

// LayoutByName returns a layout by its config name (us, de, fr); "" is us.
func LayoutByName(name string) (*Layout, error) {
	if name == "" {
		return US, nil
	}
	if l, ok := layouts[strings.ToLower(name)]; ok {
		return l, nil
	}
	names := make([]string, 0, len(layouts))
	for n := range layouts {
		names = append(names, n)
	}
	sort.Strings(names)
	return nil, fmt.Errorf("unknown keyboard layout %q (%s)", name, strings.Join(names, ", "))
}
