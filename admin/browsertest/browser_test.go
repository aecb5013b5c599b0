// Package browsertest drives the admin screen in headless Chromium. It is a
// module of its own so that chromedp stays out of the library's build list.
package browsertest

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/admin"
	"github.com/go-apitoken/apitoken/internal/testenv"
	"github.com/go-apitoken/apitoken/memstore"
)

// site is a host application: the admin handler under /admin/ and a content
// API whose routes declare their actions.
type site struct {
	svc   *apitoken.Service
	url   string
	perms atomic.Pointer[[]string] // the administrator's permissions
	// signedOut makes every admin request answer 401, as when the
	// administrator's session has ended.
	signedOut atomic.Bool
}

// newSite starts the host; configure, if given, adjusts the Service's
// configuration.
func newSite(t *testing.T, configure ...func(*apitoken.Config)) *site {
	t.Helper()
	cfg := apitoken.Config{Store: memstore.New(), Salt: "browser-test-salt-0123456789", Logger: slog.New(slog.DiscardHandler)}
	for _, f := range configure {
		f(&cfg)
	}
	svc, err := apitoken.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { svc.Close(context.Background()) })
	s := &site{svc: svc}
	s.perms.Store(&admin.Permissions)
	h, err := admin.New(admin.Config{Service: svc, Logger: slog.New(slog.DiscardHandler), SignInURL: "/login", SignOutURL: "/logout",
		Authorize: func(r *http.Request, perm string) error {
			if s.signedOut.Load() && perm != admin.PermAccess { // the page itself is the host's login redirect
				return admin.ErrUnauthenticated
			}
			if perm != "" && !slices.Contains(*s.perms.Load(), perm) {
				return admin.ErrForbidden
			}
			return nil
		}})
	require.NoError(t, err)
	ok := func(status int) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) })
	}
	mux := http.NewServeMux()
	mux.Handle("/admin/", http.StripPrefix("/admin", h))
	mux.Handle("POST /api/articles", svc.Require("api::article.article.create")(ok(201)))
	mux.Handle("GET /api/articles", svc.Require("api::article.article.find")(ok(200)))
	mux.Handle("GET /api/articles/{id}", svc.Require("api::article.article.findOne")(ok(200)))
	mux.Handle("DELETE /api/articles/{id}", svc.Require("api::article.article.delete")(ok(204)))
	mux.Handle("GET /api/categories", svc.Require("api::category.category.find")(ok(200)))
	mux.Handle("GET /upload/files", svc.Require("plugin::upload.content-api.find")(ok(200)))
	server := httptest.NewServer(mux)
	t.Cleanup(server.Close)
	s.url = server.URL
	return s
}

// call sends a content-API request with key and returns the status.
func (s *site) call(t *testing.T, method, path, key string) int {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	return res.StatusCode
}

// page drives one browser tab.
type page struct {
	t   *testing.T
	ctx context.Context
}

// newPage starts headless Chromium with a throwaway profile. It also
// collects what the page writes to its console, and fails the test on any
// uncaught exception, Content-Security-Policy violation or JavaScript dialog
// (alert, confirm: the screen uses <dialog> elements, so one would be
// injected script).
func newPage(t *testing.T) *page {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(testenv.Chromium(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate("about:blank")), "start chromium")

	var mu sync.Mutex
	var problems []string
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleException || strings.Contains(m.Text, "Content Security Policy") {
				mu.Lock()
				problems = append(problems, string(m.Type)+": "+m.Text)
				mu.Unlock()
			}
		}
	}()
	// A JavaScript dialog blocks the page: dismiss it, and report it.
	var dialogs atomic.Int32
	dialogEvents := chromedp.Events(ctx, cdppage.JavascriptDialogOpening)
	dialogsDone := make(chan struct{})
	go func() {
		defer close(dialogsDone)
		for ev, err := range dialogEvents {
			if err != nil {
				return
			}
			if dialogs.Add(1) > 1 { // the first is the probe below
				mu.Lock()
				problems = append(problems, "javascript dialog: "+string(ev.Type)+" "+ev.Message)
				mu.Unlock()
			}
			_, _ = chromedp.Call(ctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{})
		}
	}()
	// Probe: the watcher sees an alert, so its silence later means something.
	require.NoError(t, chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`setTimeout(() => alert("probe"), 0)`)))
	for deadline := time.Now().Add(5 * time.Second); dialogs.Load() == 0; time.Sleep(10 * time.Millisecond) {
		require.True(t, time.Now().Before(deadline), "the dialog watcher saw no alert")
	}

	t.Cleanup(func() {
		cancel()
		<-done
		<-dialogsDone
		mu.Lock()
		defer mu.Unlock()
		assert.Empty(t, problems, "the page ran without exceptions or CSP violations")
	})
	return &page{t: t, ctx: ctx}
}

// on returns the tab driven from t, for a step of a test that runs as a
// subtest: only t's own goroutine may stop t.
func (p *page) on(t *testing.T) *page { return &page{t: t, ctx: p.ctx} }

func (p *page) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	require.NoError(p.t, chromedp.Do(ctx, steps...))
}

// wait waits until the JavaScript expression is truthy. It asks on a timer
// rather than on animation frames, which a headless tab may not draw, and
// asks afresh each time, so that a navigation in between does no harm.
func (p *page) wait(expr string) {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			require.FailNow(p.t, "timed out", "waiting for %s: %v", expr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func eval[T any](p *page, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	require.NoError(p.t, err, expr)
	return v
}

func (p *page) text(id string) string {
	p.t.Helper()
	return eval[string](p, fmt.Sprintf("document.getElementById(%q).textContent", id))
}

func (p *page) visible(id string) bool {
	p.t.Helper()
	return eval[bool](p, fmt.Sprintf("!!document.getElementById(%q).checkVisibility()", id))
}

// open loads the screen at hash and waits until it has rendered.
func (p *page) open(url, hash string) {
	p.t.Helper()
	p.do(chromedp.Navigate("about:blank"), chromedp.Navigate(url+hash)) // a new document even if only the hash differs
	if hash == "" {
		hash = "#/"
	}
	p.wait(fmt.Sprintf("document.body.dataset.ready === %q", hash))
}

// choose sets a select's value as a user would, firing change.
func (p *page) choose(id, value string) {
	p.t.Helper()
	eval[chromedp.Void](p, fmt.Sprintf(`(s => { s.value = %q; s.dispatchEvent(new Event('change', {bubbles: true})); })(document.getElementById(%q))`, value, id))
}

// screenshot saves the whole page, when APITOKEN_SCREENSHOTS=1, to
// admin/testdata/screenshots; with a modal dialog open, only the window,
// which is what the backdrop covers.
func (p *page) screenshot(name string) {
	p.t.Helper()
	if os.Getenv("APITOKEN_SCREENSHOTS") != "1" {
		return
	}
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	shot := chromedp.FullScreenshot(100)
	if eval[bool](p, `!!document.querySelector('dialog[open]')`) {
		shot = chromedp.CaptureScreenshot()
	}
	png, err := chromedp.Run(ctx, shot)
	require.NoError(p.t, err)
	dir := filepath.Join("..", "testdata", "screenshots")
	require.NoError(p.t, os.MkdirAll(dir, 0o755))
	require.NoError(p.t, os.WriteFile(filepath.Join(dir, name), png, 0o644))
}

var hexKey = regexp.MustCompile(`^[0-9a-f]{256}$`)

// TestBrowser walks through the screen in headless Chromium as an
// administrator would: create a custom token, copy its key, use it, edit,
// regenerate and delete it. Each step is a subtest, so that a failure names
// it; the steps share one tab and the tokens made on the way, so they run in
// order, and one that stops early ends the walk.
func TestBrowser(t *testing.T) {
	s := newSite(t)
	tab := newPage(t)
	ctx := context.Background()
	screen := s.url + "/admin/"
	step := func(name string, f func(t *testing.T, p *page)) {
		t.Helper()
		finished := false
		t.Run(name, func(t *testing.T) {
			f(t, tab.on(t))
			finished = true
		})
		if !finished {
			require.FailNow(t, "step "+name+" stopped", "the steps after it depend on it")
		}
	}

	const xss = `<img src=x onerror=alert(1)>`
	var (
		key, graced, fresh string // the custom token's keys, in turn
		id                 string // its id
		tok                *apitoken.Token
	)

	step("empty screen", func(t *testing.T, p *page) {
		// An empty screen invites creating the first token.
		p.open(screen, "")
		assert.True(t, p.visible("empty"), "empty state")
		assert.False(t, p.visible("table-wrap"))
		p.screenshot("empty.png")
	})

	step("tokens made elsewhere", func(t *testing.T, p *page) {
		// One with a name that would be markup.
		_, _, err := s.svc.Create(ctx, apitoken.CreateParams{Name: xss, Description: `<b>bold?</b>`, Lifespan: apitoken.Days7})
		require.NoError(t, err)
		_, _, err = s.svc.Create(ctx, apitoken.CreateParams{Name: "analytics", Description: "Nightly export to the warehouse", Type: apitoken.FullAccess})
		require.NoError(t, err)
	})

	step("create form", func(t *testing.T, p *page) {
		// Create a custom token through the form: ticking one action makes it custom.
		p.open(screen, "#/")
		p.do(chromedp.Focus(chromedp.ID("create-link")), chromedp.KeyEvent("\r")) // the keyboard is enough
		p.wait(`document.body.dataset.ready === "#/new"`)
		assert.Equal(t, "name", eval[string](p, `document.activeElement.id`), "the form starts at its first field")
		assert.Equal(t, "read-only", eval[string](p, `document.getElementById('type').value`))
		assert.Equal(t, "2592000000", eval[string](p, `document.getElementById('lifespan').value`), "30 days by default")
		assert.Equal(t, []string{"7 days", "30 days", "90 days", "Unlimited"},
			eval[[]string](p, `[...document.querySelectorAll('#lifespan option')].map(o => o.textContent)`), "durations from the Service")
		assert.Equal(t, []string{"api::article.article.find", "api::article.article.findOne", "api::category.category.find", "plugin::upload.content-api.find"},
			eval[[]string](p, `[...document.querySelectorAll('#permissions .perm input:checked')].map(i => i.value)`), "read-only shows what it may call: find and findOne")
		p.do(
			chromedp.SendKeys(chromedp.ID("name"), "ci deploy"),
			chromedp.SendKeys(chromedp.ID("description"), "Publishes articles from CI"),
		)
		selectAll := chromedp.CSS(`#permissions fieldset .select-all input`) // the first controller: article
		p.do(chromedp.Click(selectAll))
		assert.Equal(t, "custom", eval[string](p, `document.getElementById('type').value`), "select all makes the token custom")
		assert.Equal(t, 4, eval[int](p, `document.querySelectorAll('#permissions details:first-of-type fieldset .perm input:checked').length`))
		p.choose("type", "read-only")
		p.do(chromedp.Click(chromedp.CSS(`#permissions .perm input[value="api::article.article.create"]`)))
		assert.Equal(t, "custom", eval[string](p, `document.getElementById('type').value`), "ticking a box makes the token custom")
		for _, v := range eval[[]string](p, `[...document.querySelectorAll('#permissions .perm input:checked')].map(i => i.value)`) {
			if v != "api::article.article.create" {
				p.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`#permissions .perm input[value=%q]`, v)))) // untick what read-only implied
			}
		}
		assert.Equal(t, []string{"api::article.article.create"},
			eval[[]string](p, `[...document.querySelectorAll('#permissions .perm input:checked')].map(i => i.value)`))
		assert.Equal(t, "custom", eval[string](p, `document.getElementById('type').value`))
		assert.Regexp(t, `^Expires on .*\b2\d{3}\b`, p.text("expiry-preview"))
		p.screenshot("create-form.png")
	})

	step("key shown once", func(t *testing.T, p *page) {
		p.do(chromedp.Click(chromedp.ID("save")))
		p.wait(`document.body.dataset.ready.startsWith("#/tokens/") && !document.getElementById('key-banner').hidden`)
		key = p.text("key-value")
		require.Regexp(t, hexKey, key, "the key is shown")
		assert.Contains(t, p.text("key-title"), "won't be able to see it again")
		p.screenshot("key-shown.png")
		assert.True(t, eval[bool](p, `localStorage.length === 0 && sessionStorage.length === 0`), "the key is kept in no storage")
		assert.NotContains(t, eval[string](p, `location.href`), key)
		id = strings.TrimPrefix(eval[string](p, `location.hash`), "#/tokens/")
		var err error
		tok, err = s.svc.Get(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, apitoken.Custom, tok.Type)
		assert.Equal(t, []string{"api::article.article.create"}, tok.Permissions)
		assert.Equal(t, apitoken.Days30, tok.Lifespan)
	})

	step("copy key", func(t *testing.T, p *page) {
		// With clipboard permission granted, the button reports success.
		_, err := chromedp.CallBrowser(p.ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: "clipboard-write"}, Setting: browser.PermissionSettingGranted, Origin: s.url,
		})
		require.NoError(t, err)
		p.do(chromedp.Click(chromedp.ID("copy-key")))
		p.wait(`document.getElementById('copy-status').textContent !== ''`)
		assert.Equal(t, "Copied to the clipboard.", p.text("copy-status"))

		// Without any way to copy, the key is selected and the user told how.
		eval[chromedp.Void](p, `navigator.clipboard.writeText = () => Promise.reject(new Error("denied")); document.execCommand = () => false`)
		p.do(chromedp.Click(chromedp.ID("copy-key")))
		p.wait(`document.getElementById('copy-status').textContent.includes('Ctrl+C')`)
		assert.Equal(t, key, eval[string](p, `getSelection().toString()`), "the key is selected for the user to copy")
	})

	step("key works where granted", func(t *testing.T, p *page) {
		// The key works where it was granted, and only there.
		assert.Equal(t, 201, s.call(t, "POST", "/api/articles", key))
		assert.Equal(t, 403, s.call(t, "GET", "/api/articles", key))
		assert.Equal(t, 403, s.call(t, "GET", "/api/categories", key))
	})

	step("reload and a taken name", func(t *testing.T, p *page) {
		// Reloading hides the key for good, and so does navigating away; a taken name is reported next
		// to the field and what was typed stays.
		p.do(chromedp.Reload())
		p.wait(fmt.Sprintf(`document.body.dataset.ready === "#/tokens/%s"`, id))
		assert.Equal(t, "ci deploy", eval[string](p, `document.getElementById('name').value`), "same token after the reload")
		assert.False(t, p.visible("key-banner"), "no key after a reload")
		assert.False(t, eval[bool](p, fmt.Sprintf(`document.documentElement.outerHTML.includes(%q)`, key)), "the key left the page")
		p.do(chromedp.Click(chromedp.CSS(`a.back`)))
		p.wait(`document.body.dataset.ready === "#/"`)
		p.do(chromedp.Click(chromedp.ID("create-link")))
		p.wait(`document.body.dataset.ready === "#/new"`)
		p.do(
			chromedp.SendKeys(chromedp.ID("name"), "ci deploy"),
			chromedp.SendKeys(chromedp.ID("description"), "typed with care"),
			chromedp.Click(chromedp.ID("save")),
		)
		p.wait(`!document.getElementById('name-error').hidden`)
		assert.Equal(t, "Name already taken", p.text("name-error"))
		assert.Equal(t, "true", eval[string](p, `document.getElementById('name').getAttribute('aria-invalid')`))
		assert.Equal(t, "typed with care", eval[string](p, `document.getElementById('description').value`))
		assert.Equal(t, "ci deploy", eval[string](p, `document.getElementById('name').value`))
	})

	step("list", func(t *testing.T, p *page) {
		// Reload: the list, sorted by name, names as text; no key anywhere.
		require.NoError(t, s.svc.Flush(ctx))
		p.open(screen, "#/")
		assert.False(t, p.visible("key-banner"), "no key after a reload")
		assert.False(t, eval[bool](p, fmt.Sprintf(`document.documentElement.outerHTML.includes(%q)`, key)))
		names := eval[[]string](p, `[...document.querySelectorAll('#token-rows th')].map(th => th.textContent)`)
		assert.Equal(t, []string{"<img src=x onerror=alert(1)>", "analytics", "ci deploy"}, names)
		assert.Zero(t, eval[int](p, `document.querySelectorAll('#token-rows img, #token-rows b').length`), "markup is shown as text")
		lastUsed := eval[[]string](p, `[...document.querySelectorAll('#token-rows td[data-label="Last used"]')].map(td => td.textContent)`)
		assert.Equal(t, []string{"never", "never", "just now"}, lastUsed)
		p.do(chromedp.Click(chromedp.CSS(`button.sort[data-sort="name"]`)))
		p.wait(`document.querySelector('#token-rows th').textContent === 'ci deploy'`) // sorted descending
		assert.Equal(t, "descending", eval[string](p, `document.querySelector('th[data-sort="name"]').getAttribute('aria-sort')`))
		p.do(chromedp.Click(chromedp.CSS(`button.sort[data-sort="name"]`)))
		p.wait(`document.querySelector('th[data-sort="name"]').getAttribute('aria-sort') === 'ascending'`)
		p.screenshot("list.png")
	})

	step("edit", func(t *testing.T, p *page) {
		// Edit the description: the expiry stays; the preview follows the duration.
		p.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`#token-rows tr[data-id=%q] a`, id))))
		p.wait(fmt.Sprintf(`document.body.dataset.ready === "#/tokens/%s"`, id))
		assert.Equal(t, "ci deploy", eval[string](p, `document.getElementById('name').value`))
		assert.True(t, p.visible("lifespan-note"), "the form says a new duration restarts the expiry")
		assert.Equal(t, tok.ExpiresAt.Format(time.RFC3339), parseISO(t, eval[string](p, `document.getElementById('expiry-preview').dataset.expires`)))
		p.choose("lifespan", "7776000000")
		preview := parseISO(t, eval[string](p, `document.getElementById('expiry-preview').dataset.expires`))
		assert.Equal(t, time.Now().UTC().Add(90*24*time.Hour).Format("2006-01-02"), preview[:10], "90 days from now")
		p.choose("lifespan", "2592000000")
		p.do(
			chromedp.Focus(chromedp.ID("description")),
			chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)), // select all, then type over it
			chromedp.SendKeys(chromedp.ID("description"), "Publishes articles from CI, edited"),
			chromedp.Click(chromedp.ID("save")),
		)
		p.wait(`document.getElementById('notice').textContent === 'Saved.'`)
		edited, err := s.svc.Get(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, "Publishes articles from CI, edited", edited.Description)
		assert.True(t, tok.ExpiresAt.Equal(*edited.ExpiresAt), "editing the description kept the expiry")
		assert.Equal(t, []string{"api::article.article.create"}, edited.Permissions)
	})

	step("edited elsewhere meanwhile", func(t *testing.T, p *page) {
		// Someone else edits the token meanwhile: saving over it is refused
		// and says why, and their edit stands.
		_, err := s.svc.Update(ctx, id, apitoken.UpdateParams{Description: ptr("edited elsewhere")})
		require.NoError(t, err)
		p.do(
			chromedp.Focus(chromedp.ID("description")),
			chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)),
			chromedp.SendKeys(chromedp.ID("description"), "overwrites?"),
			chromedp.Click(chromedp.ID("save")),
		)
		p.wait(`!document.getElementById('alert').hidden`)
		assert.Contains(t, p.text("alert"), "changed since it was read")
		edited, err := s.svc.Get(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, "edited elsewhere", edited.Description)
	})

	step("regenerate cancelled", func(t *testing.T, p *page) {
		// Regenerate through its dialog: the old key dies, the new one works.
		p.do(chromedp.Click(chromedp.ID("regenerate")))
		p.wait(`document.getElementById('regenerate-dialog').open`)
		p.do(chromedp.Click(chromedp.ID("regenerate-cancel")))
		p.wait(`!document.getElementById('regenerate-dialog').open`)
		assert.Equal(t, 201, s.call(t, "POST", "/api/articles", key), "cancel changed nothing")
	})

	step("regenerate with a day of grace", func(t *testing.T, p *page) {
		// First with a day's grace: both keys work.
		p.do(chromedp.Click(chromedp.ID("regenerate")))
		p.wait(`document.getElementById('regenerate-dialog').open`)
		assert.True(t, eval[bool](p, `document.getElementById('overlap-now').checked`), "revoking at once is the default")
		assert.Contains(t, p.text("regenerate-text"), "ci deploy")
		p.do(chromedp.Click(chromedp.ID("overlap-day")))
		p.screenshot("regenerate-dialog.png")
		p.do(chromedp.Click(chromedp.ID("regenerate-confirm")))
		p.wait(fmt.Sprintf(`!document.getElementById('key-banner').hidden && document.getElementById('key-value').textContent !== %q`, key))
		graced = p.text("key-value")
		require.Regexp(t, hexKey, graced)
		assert.Contains(t, p.text("notice"), "keeps working until")
		assert.Equal(t, 201, s.call(t, "POST", "/api/articles", key), "old key, within its day of grace")
		assert.Equal(t, 201, s.call(t, "POST", "/api/articles", graced), "new key")
	})

	step("regenerate at once", func(t *testing.T, p *page) {
		// Then at once: the dialog is back on its default, and every earlier key dies.
		p.do(chromedp.Click(chromedp.ID("regenerate")))
		p.wait(`document.getElementById('regenerate-dialog').open`)
		assert.True(t, eval[bool](p, `document.getElementById('overlap-now').checked`), "the grace period is chosen afresh each time")
		p.do(chromedp.Click(chromedp.ID("regenerate-confirm")))
		p.wait(fmt.Sprintf(`!document.getElementById('key-banner').hidden && document.getElementById('key-value').textContent !== %q`, graced))
		fresh = p.text("key-value")
		require.Regexp(t, hexKey, fresh)
		assert.Contains(t, p.text("notice"), "no longer works")
		assert.Equal(t, 401, s.call(t, "POST", "/api/articles", key), "first key")
		assert.Equal(t, 401, s.call(t, "POST", "/api/articles", graced), "second key")
		assert.Equal(t, 201, s.call(t, "POST", "/api/articles", fresh), "new key")
	})

	step("delete from the list", func(t *testing.T, p *page) {
		// Delete through its dialog, from the list.
		p.do(chromedp.Click(chromedp.CSS(`a.back`)))
		p.wait(`document.body.dataset.ready === "#/"`)
		assert.False(t, p.visible("key-banner"))
		del := chromedp.CSS(fmt.Sprintf(`#token-rows tr[data-id=%q] button.delete`, id))
		p.do(chromedp.Click(del))
		p.wait(`document.getElementById('delete-dialog').open`)
		assert.Contains(t, p.text("delete-text"), "ci deploy")
		assert.Equal(t, "delete-cancel", eval[string](p, `document.activeElement.id`), "the safe choice has the focus")
		p.do(chromedp.KeyEvent(kb.Escape))
		p.wait(`!document.getElementById('delete-dialog').open`)
		_, err := s.svc.Get(ctx, id)
		require.NoError(t, err, "cancel kept the token")
		p.do(chromedp.Click(del))
		p.wait(`document.getElementById('delete-dialog').open`)
		p.do(chromedp.Click(chromedp.ID("delete-confirm")))
		p.wait(fmt.Sprintf(`!document.querySelector('#token-rows tr[data-id=%q]')`, id))
		assert.Contains(t, p.text("notice"), "was deleted")
		assert.Equal(t, 401, s.call(t, "POST", "/api/articles", fresh), "deleted token's key")
		_, err = s.svc.Get(ctx, id)
		assert.ErrorIs(t, err, apitoken.ErrNotFound)
	})

	step("delete from the edit view", func(t *testing.T, p *page) {
		// Through the same dialog.
		p.do(chromedp.Click(chromedp.CSS(`#token-rows tr:nth-child(2) a`))) // analytics
		p.wait(`document.body.dataset.ready.startsWith("#/tokens/") && document.getElementById('name').value === 'analytics'`)
		p.do(chromedp.Click(chromedp.ID("delete")))
		p.wait(`document.getElementById('delete-dialog').open`)
		p.do(chromedp.Click(chromedp.ID("delete-confirm")))
		p.wait(`document.body.dataset.ready === "#/"`)
		assert.Equal(t, []string{xss}, eval[[]string](p, `[...document.querySelectorAll('#token-rows th')].map(th => th.textContent)`))
		assert.Contains(t, p.text("notice"), "“analytics” was deleted")
	})

	step("phone-sized window", func(t *testing.T, p *page) {
		// On a phone-sized window (375 px) the rows become cards and nothing is
		// wider than the window: list, create form, edit view with a key, dialog.
		const narrow = 375
		fits := func(what string) {
			t.Helper()
			assert.LessOrEqual(t, eval[int](p, `Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)`), narrow, what+": no horizontal overflow")
		}
		p.do(chromedp.EmulateViewport(narrow, 812))
		_, _, err := s.svc.Create(ctx, apitoken.CreateParams{Name: "a-very-long-token-name-without-any-space-to-break-it-0123456789", Description: strings.Repeat("long ", 40)})
		require.NoError(t, err)
		p.open(screen, "#/")
		assert.Equal(t, "block", eval[string](p, `getComputedStyle(document.querySelector('#token-rows tr')).display`))
		fits("list")
		p.screenshot("list-narrow.png")
		p.open(screen, "#/new")
		fits("create form")
		p.screenshot("create-form-narrow.png")
		p.do(chromedp.SendKeys(chromedp.ID("name"), "phone"), chromedp.Click(chromedp.ID("save")))
		p.wait(`!document.getElementById('key-banner').hidden`)
		fits("edit view with a key")
		p.screenshot("key-shown-narrow.png")
		p.do(chromedp.Click(chromedp.ID("regenerate")))
		p.wait(`document.getElementById('regenerate-dialog').open`)
		fits("regenerate dialog")
		assert.LessOrEqual(t, eval[float64](p, `document.getElementById('regenerate-dialog').getBoundingClientRect().right`), float64(narrow))
		p.do(chromedp.KeyEvent(kb.Escape))
		p.do(chromedp.EmulateReset())
	})

	step("read-only administrator", func(t *testing.T, p *page) {
		// An administrator who may only read sees no create, edit or delete.
		s.perms.Store(&[]string{admin.PermAccess, admin.PermRead})
		p.open(screen, "#/")
		assert.False(t, p.visible("create-link"))
		assert.Zero(t, eval[int](p, `document.querySelectorAll('#token-rows button').length`), "no delete buttons")
		assert.Equal(t, "View", eval[string](p, `document.querySelector('#token-rows a').textContent`))
		p.do(chromedp.Click(chromedp.CSS(`#token-rows a`)))
		p.wait(`document.body.dataset.ready.startsWith("#/tokens/")`)
		assert.True(t, eval[bool](p, `document.getElementById('form-fields').disabled`), "read-only form")
		assert.False(t, p.visible("save"))
		assert.False(t, p.visible("regenerate"))
	})
}

// parseISO normalises a browser timestamp for comparison, or returns "".
func parseISO(t *testing.T, s string) string {
	t.Helper()
	if s == "" {
		return ""
	}
	ts, err := time.Parse(time.RFC3339, s)
	require.NoError(t, err, s)
	return ts.UTC().Format(time.RFC3339)
}

// TestBrowserReveal: with an encryption key the Service can show a key
// again, and the edit view offers it; the key leaves with the route, as a
// new one does.
func TestBrowserReveal(t *testing.T) {
	s := newSite(t, func(c *apitoken.Config) { c.EncryptionKey = "browser-test-encryption-key-0123456789" })
	_, key, err := s.svc.Create(context.Background(), apitoken.CreateParams{Name: "recoverable"})
	require.NoError(t, err)
	list, err := s.svc.List(context.Background())
	require.NoError(t, err)
	p := newPage(t)
	p.open(s.url+"/admin/", "#/tokens/"+list[0].ID)
	require.True(t, p.visible("reveal"), "Show key is offered")
	assert.False(t, p.visible("key-banner"))
	p.do(chromedp.Click(chromedp.ID("reveal")))
	p.wait(`!document.getElementById('key-banner').hidden`)
	assert.Equal(t, key, p.text("key-value"))
	p.do(chromedp.Click(chromedp.CSS(`a.back`)))
	p.wait(`document.body.dataset.ready === "#/"`)
	assert.False(t, p.visible("key-banner"))
	assert.Empty(t, p.text("key-value"), "the key left the page")

	// Without the encryption key there is nothing to show.
	plain := newSite(t)
	_, _, err = plain.svc.Create(context.Background(), apitoken.CreateParams{Name: "hashed only"})
	require.NoError(t, err)
	list, err = plain.svc.List(context.Background())
	require.NoError(t, err)
	p.open(plain.url+"/admin/", "#/tokens/"+list[0].ID)
	assert.False(t, p.visible("reveal"), "no Show key without an encryption key")
}

func ptr[T any](v T) *T { return &v }
