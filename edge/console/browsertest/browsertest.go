// Package browsertest runs the web tests' headless Chromium (Debian's chromium, the flags
// CI needs as root) for the depot console and the fleet page alike. Without chromium the
// tests skip, unless DEPOTD_INTEGRATION=1 says they must run.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Chromium finds Debian's chromium (or DEPOTD_CHROMIUM).
func Chromium(t testing.TB) string {
	t.Helper()
	for _, p := range []string{os.Getenv("DEPOTD_CHROMIUM"), "chromium", "chromium-browser", "/usr/bin/chromium"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("DEPOTD_INTEGRATION") == "1" {
		t.Fatal("DEPOTD_INTEGRATION=1 but no chromium found (install Debian's chromium, or set DEPOTD_CHROMIUM)")
	}
	t.Skip("browser tests need chromium (apt-get install chromium); skipped")
	return ""
}

// Headless starts Chromium with a w×h window and returns its context, which carries no
// timeout: the first action starts the browser, and a deadline on it would end the browser.
// The browser ends with the test.
func Headless(t testing.TB, w, h int) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(Chromium(t)), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(w, h))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return bctx
}

// Do runs steps within limit and fails the test with the page's text if they fail.
func Do(t testing.TB, bctx context.Context, limit time.Duration, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(bctx, limit)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		text, _ := chromedp.Run(bctx, chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
		t.Fatalf("%s: %v\npage text:\n%s", what, err, text)
	}
}

// Eval evaluates js in the page within 10 s.
func Eval[T any](t testing.TB, bctx context.Context, js string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(bctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// Screenshot writes the whole page, within 20 s, to dir/name.png.
func Screenshot(t testing.TB, bctx context.Context, dir, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(bctx, 20*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Overflow is how wide the page is against its window, and the innermost elements (up to
// eight) that stick out past the window's right edge, so that a failure says what to fix.
type Overflow struct {
	ScrollWidth int      `json:"scrollWidth"`
	InnerWidth  int      `json:"innerWidth"`
	Culprits    []string `json:"culprits"`
}

const overflowJS = `(() => {
  const w = window.innerWidth, out = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > w + 0.5 && ![...el.children].some(c => c.getBoundingClientRect().right > w + 0.5)) {
      out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className ? '.' + String(el.className).split(' ').join('.') : '') +
        ' right=' + Math.round(r.right) + ' "' + (el.textContent || el.value || '').trim().slice(0, 30) + '"');
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: w, culprits: out.slice(0, 8)};
})()`

// MeasureOverflow measures the page now shown.
func MeasureOverflow(t testing.TB, bctx context.Context) Overflow {
	t.Helper()
	return Eval[Overflow](t, bctx, overflowJS)
}
