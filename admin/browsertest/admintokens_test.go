package browsertest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/admin"
)

// permBox is the selector of the box of an admin permission.
func permBox(perm string) chromedp.CSS {
	return chromedp.CSS(fmt.Sprintf(`#permissions .perm input[value=%q]`, perm))
}

// disabledBoxes lists the permission boxes the viewer cannot change.
const disabledBoxes = `[...document.querySelectorAll('#permissions .perm input:disabled')].map(i => i.value)`

// closeDialog presses the button of the open dialog name (cancel or
// confirm) and waits until its close event has been handled: the screen's
// handler may move the focus, scrolling the page under a click that
// follows too soon. Listeners run in the order they were added, so the
// one added here runs after the screen's.
func (p *page) closeDialog(name, button string) {
	p.t.Helper()
	eval[chromedp.Void](p, fmt.Sprintf(`(d => { delete d.dataset.closed; d.addEventListener('close', () => { d.dataset.closed = 'yes'; }, {once: true}); })(document.getElementById(%q))`, name+"-dialog"))
	p.do(chromedp.Click(chromedp.ID(name + "-" + button)))
	p.wait(fmt.Sprintf(`document.getElementById(%q).dataset.closed === 'yes'`, name+"-dialog"))
}

// pressEnter presses Enter as a keyboard does: one keyDown that carries
// its text, so that the page gets keydown and keypress together.
// chromedp's KeyEvent sends them apart, and a link's navigation may move
// the focus between them into a field, where the late keypress submits
// the form.
func (p *page) pressEnter() {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	for _, ev := range []input.DispatchKeyEventParams{
		{Type: input.DispatchKeyEventTypeKeyDown, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13, Text: "\r", UnmodifiedText: "\r"},
		{Type: input.DispatchKeyEventTypeKeyUp, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13},
	} {
		_, err := chromedp.Call(ctx, input.DispatchKeyEvent, ev)
		require.NoError(p.t, err)
	}
}

// mouse sends a left-button mouse event at x, y.
func (p *page) mouse(typ input.DispatchMouseEventType, x, y float64) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	_, err := chromedp.Call(ctx, input.DispatchMouseEvent, input.DispatchMouseEventParams{Type: typ, X: x, Y: y,
		Button: input.MouseButtonLeft, Buttons: 1, ClickCount: 1})
	require.NoError(p.t, err)
}

// TestBrowserAdminTokens walks through admin tokens as two administrators
// would: alice, who may do everything, switches from API tokens to admin
// tokens, creates one with two permissions and uses its key on the admin
// API, changes its permissions, is told why bob's token cannot have more
// than bob may, and regenerates its key; bob sees alice's token without its
// key or Regenerate, and his edits keep what he cannot grant; alice deletes
// it. The steps share one tab and run in order, as TestBrowser's do.
func TestBrowserAdminTokens(t *testing.T) {
	s := newAdminSite(t, func(c *apitoken.Config) { c.EncryptionKey = "browser-test-encryption-key-0123456789" })
	tab := newPage(t)
	ctx := context.Background()
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
	var (
		key, fresh string // alice's token's keys, in turn
		id         string
	)
	content, _, err := s.svc.Create(ctx, apitoken.CreateParams{Name: "website", Description: "content API token"})
	require.NoError(t, err)
	bobs, bobKey := s.adminToken(t, "bob", "bob's reader", admin.PermRead)

	step("from API tokens to admin tokens", func(t *testing.T, p *page) {
		s.signIn(p, "alice")
		p.open(s.url+"/admin/settings/api-tokens", "#/")
		require.True(t, p.visible("kind-nav"), "both kinds are offered")
		assert.Equal(t, "page", eval[string](p, `document.getElementById('nav-api').getAttribute('aria-current')`))
		assert.Equal(t, []string{"website"}, eval[[]string](p, rowNames), "the API tokens list holds content-API tokens only")
		p.do(chromedp.Click(chromedp.ID("nav-admin")))
		p.wait(`location.pathname === '/admin/settings/admin-tokens' && document.body.dataset.ready === '#/'`)
		assert.Equal(t, "Admin Tokens", p.text("list-title"))
		assert.Equal(t, "Admin Tokens · Settings", eval[string](p, `document.title`))
		assert.Equal(t, "page", eval[string](p, `document.getElementById('nav-admin').getAttribute('aria-current')`))
		assert.Equal(t, []string{"bob's reader"}, eval[[]string](p, rowNames), "the admin tokens list holds admin tokens only")
		assert.False(t, p.visible("filter-type"), "admin tokens have no type to filter by")
		assert.Equal(t, "bob", eval[string](p, `document.querySelector('#token-rows td[data-label="Owner"]').textContent`))
		assert.Equal(t, "API tokens: read", eval[string](p, `document.querySelector('#token-rows td[data-label="Permissions"]').textContent`))
		assert.Zero(t, eval[int](p, `document.querySelectorAll('#token-rows button.regenerate').length`), "bob's token is not alice's to regenerate")
		assert.Equal(t, 1, eval[int](p, `document.querySelectorAll('#token-rows button.delete').length`))
	})

	step("create", func(t *testing.T, p *page) {
		p.do(chromedp.Click(chromedp.ID("create-link")))
		p.wait(`document.body.dataset.ready === "#/new"`)
		assert.Equal(t, "Create Admin Token", p.text("form-title"))
		assert.False(t, p.visible("type"), "admin tokens are always custom: no type to choose")
		assert.Equal(t, "alice (you)", p.text("owner"))
		assert.Equal(t, []string{"API tokens", "Admin tokens"}, eval[[]string](p, `[...document.querySelectorAll('#permissions legend')].map(l => l.textContent)`))
		assert.Equal(t, admin.Permissions, eval[[]string](p, `[...document.querySelectorAll('#permissions .perm input')].map(i => i.value)`),
			"a box for each permission alice may grant")
		assert.Equal(t, []string{"Access", "Read", "Create", "Update", "Regenerate", "Delete"},
			eval[[]string](p, `[...document.querySelectorAll('#permissions fieldset:first-of-type .perm')].map(l => l.textContent.trim())`))
		assert.Empty(t, eval[[]string](p, checked), "a new token starts with no permission")
		p.do(chromedp.SendKeys(chromedp.ID("name"), "ci deploy"), chromedp.SendKeys(chromedp.ID("description"), "Manages API tokens from CI"),
			chromedp.Click(permBox(admin.PermRead)), chromedp.Click(permBox(admin.PermCreate)))
		p.screenshot("admin-create-form.png")
		p.do(chromedp.Click(chromedp.ID("save")))
		p.wait(`document.body.dataset.ready.startsWith("#/tokens/") && !document.getElementById('key-banner').hidden`)
		key = p.text("key-value")
		require.Regexp(t, hexKey, key, "the key is shown once")
		id = strings.TrimPrefix(eval[string](p, `location.hash`), "#/tokens/")
		tok, err := s.svc.Get(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, apitoken.KindAdmin, tok.Kind)
		assert.Equal(t, "alice", tok.Owner, "the token is whoever made it's")
		assert.Equal(t, apitoken.Custom, tok.Type)
		assert.Equal(t, []string{admin.PermCreate, admin.PermRead}, tok.Permissions)
		assert.True(t, p.visible("regenerate"), "alice's own token")
		assert.True(t, p.visible("reveal"))
		assert.False(t, p.visible("owner-note"))
	})

	step("the key works on the admin API", func(t *testing.T, p *page) {
		assert.Equal(t, 200, s.bearer(t, "GET", "/api-tokens", key))
		assert.Equal(t, 403, s.bearer(t, "DELETE", "/api-tokens/"+content.ID, key), "not granted")
		assert.Equal(t, 403, s.bearer(t, "GET", "/admin-tokens", key), "not granted")
	})

	step("edit its permissions", func(t *testing.T, p *page) {
		p.do(chromedp.Click(permBox(admin.PermCreate)), chromedp.Click(permBox(admin.PermDelete)), chromedp.Click(chromedp.ID("save")))
		p.wait(`document.getElementById('notice').textContent === 'Saved.'`)
		tok, err := s.svc.Get(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, []string{admin.PermDelete, admin.PermRead}, tok.Permissions)
		assert.Equal(t, []string{admin.PermRead, admin.PermDelete}, eval[[]string](p, checked), "the form shows what was saved")
		assert.Equal(t, 403, s.bearer(t, "POST", "/api-tokens", key), "create was taken away")
		assert.Equal(t, 200, s.bearer(t, "DELETE", "/api-tokens/"+content.ID, key), "delete was given")
	})

	step("beyond the owner's permissions", func(t *testing.T, p *page) {
		// Bob loses admin-tokens.read while his form is open, then ticks
		// it: the server refuses, and says so by the permissions, with
		// the ticks left as they were.
		s.signIn(p, "bob")
		p.open(s.screen(), "#/tokens/"+bobs.ID)
		assert.Equal(t, "bob (you)", p.text("owner"))
		assert.False(t, p.visible("owner-note"), "his own token")
		s.setAdmin("bob", slices.DeleteFunc(slices.Clone(bobPerms), func(p string) bool { return p == admin.PermAdminTokensRead })...)
		p.do(chromedp.Click(permBox(admin.PermAdminTokensRead)), chromedp.Click(chromedp.ID("save")))
		p.wait(`!document.getElementById('permissions-error').hidden`)
		assert.Equal(t, "Permissions beyond the owner's: admin::admin-tokens.read", p.text("permissions-error"))
		assert.Equal(t, "permissions-error", eval[string](p, `document.activeElement.id`), "the focus is on the reason")
		assert.Equal(t, []string{admin.PermRead, admin.PermAdminTokensRead}, eval[[]string](p, checked), "what was ticked stays")
		p.screenshot("admin-form-error.png")
		tok, err := s.svc.Get(ctx, bobs.ID)
		require.NoError(t, err)
		assert.Equal(t, []string{admin.PermRead}, tok.Permissions)
		s.setAdmin("bob", bobPerms...)
		s.signIn(p, "alice")

		// Alice sees bob's token, and may not change it.
		p.open(s.screen(), "#/tokens/"+bobs.ID)
		assert.Equal(t, "bob", p.text("owner"))
		require.True(t, p.visible("owner-note"))
		assert.Contains(t, p.text("owner-note"), "belongs to bob")
		assert.False(t, p.visible("regenerate"), "only bob regenerates bob's token")
		assert.False(t, p.visible("reveal"), "only bob sees its key")
		assert.False(t, p.visible("save"), "only bob changes bob's token")
		assert.True(t, p.visible("delete"), "alice may revoke it")
	})

	step("regenerate", func(t *testing.T, p *page) {
		p.open(s.screen(), "#/tokens/"+id)
		p.do(chromedp.Click(chromedp.ID("regenerate")))
		p.wait(`document.getElementById('regenerate-dialog').open`)
		assert.Equal(t, "Regenerate this admin token?", p.text("regenerate-title"))
		p.do(chromedp.Click(chromedp.ID("regenerate-confirm")))
		p.wait(fmt.Sprintf(`!document.getElementById('key-banner').hidden && document.getElementById('key-value').textContent !== %q`, key))
		fresh = p.text("key-value")
		require.Regexp(t, hexKey, fresh)
		assert.Equal(t, 401, s.bearer(t, "GET", "/api-tokens", key), "the old key is refused")
		assert.Equal(t, 200, s.bearer(t, "GET", "/api-tokens", fresh))
		assert.Equal(t, "…"+fresh[len(fresh)-4:], p.text("key-hint"))
	})

	step("list", func(t *testing.T, p *page) {
		p.open(s.screen(), "#/")
		assert.Equal(t, []string{"bob's reader", "ci deploy"}, eval[[]string](p, rowNames))
		row := fmt.Sprintf(`document.querySelector('#token-rows tr[data-id=%q]')`, id)
		assert.Equal(t, "alice (you)", eval[string](p, row+`.querySelector('td[data-label="Owner"]').textContent`))
		assert.Equal(t, "API tokens: read, delete", eval[string](p, row+`.querySelector('td[data-label="Permissions"]').textContent`))
		assert.Equal(t, "…"+fresh[len(fresh)-4:], eval[string](p, row+`.querySelector('td[data-label="Key"]').textContent`))
		assert.True(t, eval[bool](p, row+`.querySelector('button.regenerate') !== null`), "alice's row offers Regenerate")
		assert.Equal(t, 1, eval[int](p, `new Set([...`+row+`.querySelectorAll('.row-actions > *')].map(b => b.getBoundingClientRect().top)).size`),
			"the row's actions fit on one line")
		for _, col := range []string{"Owner", "Created", "Last used", "Expires"} {
			assert.LessOrEqual(t, eval[int](p, row+`.querySelector('td[data-label="`+col+`"]').scrollWidth`),
				eval[int](p, row+`.querySelector('td[data-label="`+col+`"]').clientWidth`), col+" fits its column")
		}
		p.do(chromedp.SendKeys(chromedp.ID("search"), "ci"))
		p.wait(`document.getElementById('list-count').textContent === '1–1 of 1 token'`)
		assert.Equal(t, []string{"ci deploy"}, eval[[]string](p, rowNames))
		p.retype("search", "")
		p.wait(`document.getElementById('list-count').textContent === '1–2 of 2 tokens'`)
		p.do(chromedp.Click(chromedp.CSS(`button.sort[data-sort="name"]`)))
		p.wait(`document.querySelector('#token-rows th').textContent === 'ci deploy'`)
		assert.Equal(t, "descending", eval[string](p, `document.querySelector('th[data-sort="name"]').getAttribute('aria-sort')`))
		p.screenshot("admin-list.png")
	})

	step("bob sees alice's token", func(t *testing.T, p *page) {
		s.signIn(p, "bob")
		p.open(s.screen(), "#/")
		row := fmt.Sprintf(`document.querySelector('#token-rows tr[data-id=%q]')`, id)
		assert.Equal(t, "alice", eval[string](p, row+`.querySelector('td[data-label="Owner"]').textContent`))
		assert.Equal(t, []string{"View"}, eval[[]string](p, `[...`+row+`.querySelectorAll('.row-actions > *')].map(e => e.textContent)`),
			"not his to edit or regenerate, and he may not delete")
		mine := fmt.Sprintf(`document.querySelector('#token-rows tr[data-id=%q]')`, bobs.ID)
		assert.True(t, eval[bool](p, mine+`.querySelector('button.regenerate') !== null`), "his own token offers Regenerate")
		assert.True(t, p.visible("kind-nav"), "bob may open both pages")

		p.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`#token-rows tr[data-id=%q] a`, id))))
		p.wait(fmt.Sprintf(`document.body.dataset.ready === "#/tokens/%s"`, id))
		assert.Contains(t, p.text("owner-note"), "belongs to alice")
		assert.Contains(t, p.text("owner-note"), "Only alice can see its key, regenerate or change it")
		assert.False(t, p.visible("regenerate"))
		assert.False(t, p.visible("reveal"))
		assert.False(t, p.visible("delete"))
		assert.False(t, eval[bool](p, fmt.Sprintf(`document.documentElement.outerHTML.includes(%q)`, fresh)), "alice's key never reaches bob's page")
		// Shown, not his to change: the form is read-only, with alice's
		// permissions ticked, delete among them though bob lacks it.
		assert.False(t, p.visible("save"))
		assert.True(t, eval[bool](p, `document.getElementById('form-fields').disabled`))
		assert.Equal(t, []string{admin.PermRead, admin.PermDelete}, eval[[]string](p, checked))
		p.screenshot("admin-edit-other.png")
		assert.Equal(t, 200, s.bearer(t, "GET", "/api-tokens", bobKey), "bob's own key works")
	})

	step("delete", func(t *testing.T, p *page) {
		s.signIn(p, "alice")
		long := "Manages API tokens from CI, reviewed by bob"
		_, err := s.svc.Update(ctx, id, apitoken.UpdateParams{Description: &long})
		require.NoError(t, err)
		p.open(s.screen(), "#/")
		// The row's description is three lines, two of them shown: a mouse
		// press on Delete focuses it, and must not unfold the row under
		// the pointer, which would move the button away before the release.
		require.Greater(t, eval[int](p, fmt.Sprintf(`document.querySelector('#token-rows tr[data-id=%q] .clamp').scrollHeight`, id)),
			eval[int](p, fmt.Sprintf(`document.querySelector('#token-rows tr[data-id=%q] .clamp').clientHeight`, id)), "the description is cut")
		del := fmt.Sprintf(`document.querySelector('#token-rows tr[data-id=%q] button.delete').getBoundingClientRect()`, id)
		x, y := eval[float64](p, del+`.x + 10`), eval[float64](p, del+`.y + 10`)
		p.mouse(input.DispatchMouseEventTypeMousePressed, x, y)
		assert.Equal(t, y-10, eval[float64](p, del+`.y`), "the button stays where it was pressed")
		p.mouse(input.DispatchMouseEventTypeMouseReleased, x, y)
		p.wait(`document.getElementById('delete-dialog').open`)
		assert.Equal(t, "Delete this admin token?", p.text("delete-title"))
		p.do(chromedp.Click(chromedp.ID("delete-confirm")))
		p.wait(fmt.Sprintf(`!document.querySelector('#token-rows tr[data-id=%q]')`, id))
		assert.Contains(t, p.text("notice"), "“ci deploy” was deleted")
		assert.Equal(t, 401, s.bearer(t, "GET", "/api-tokens", fresh), "the deleted token's key")
		_, err = s.svc.Get(ctx, id)
		assert.ErrorIs(t, err, apitoken.ErrNotFound)
	})
}

// TestBrowserAdminTokensNarrow: at 390 px the admin tokens list, the create
// form, a key just made and another administrator's token fit the window.
func TestBrowserAdminTokensNarrow(t *testing.T) {
	s := newAdminSite(t)
	s.adminToken(t, "bob", "a-very-long-admin-token-name-without-any-space-to-break-it-0123456789", admin.PermRead, admin.PermAdminTokensRead)
	p := newPage(t)
	s.signIn(p, "alice")
	p.do(chromedp.EmulateViewport(390, 844))
	p.open(s.screen(), "#/")
	assert.Equal(t, "block", eval[string](p, `getComputedStyle(document.querySelector('#token-rows tr')).display`), "rows are cards")
	p.fits("list")
	p.screenshot("admin-list-narrow.png")
	p.open(s.screen(), "#/new")
	p.fits("create form")
	p.do(chromedp.SendKeys(chromedp.ID("name"), "phone"), chromedp.Click(permBox(admin.PermRead)), chromedp.Click(chromedp.ID("save")))
	p.wait(`!document.getElementById('key-banner').hidden`)
	p.fits("edit view with a key")
	p.open(s.screen(), "#/tokens/"+s.named(t, "a-very-long-admin-token-name-without-any-space-to-break-it-0123456789").ID)
	require.True(t, p.visible("owner-note"))
	p.fits("another administrator's token")
	p.screenshot("admin-edit-narrow.png")
}

// TestBrowserAdminTokensKeyboard creates an admin token with the keyboard
// alone: Tab to Create, type a name, Tab to a permission and tick it with
// Space, Tab to Save; the key's Copy button then has the focus.
func TestBrowserAdminTokensKeyboard(t *testing.T) {
	s := newAdminSite(t)
	p := newPage(t)
	s.signIn(p, "bob")
	p.open(s.screen(), "#/")
	p.tabTo("#create-link")
	p.pressEnter()
	p.wait(`document.body.dataset.ready === "#/new"`)
	assert.Equal(t, "name", eval[string](p, `document.activeElement.id`))
	p.do(chromedp.KeyEvent("by keyboard"))
	p.tabTo(fmt.Sprintf(`#permissions .perm input[value=%q]`, admin.PermAdminTokensRead))
	p.do(chromedp.KeyEvent(" "))
	assert.Equal(t, []string{admin.PermAdminTokensRead}, eval[[]string](p, checked))
	p.tabTo("#save")
	p.pressEnter()
	p.wait(`!document.getElementById('key-banner').hidden`)
	assert.Equal(t, "copy-key", eval[string](p, `document.activeElement.id`), "the key's Copy button has the focus")
	tok := s.named(t, "by keyboard")
	require.NotNil(t, tok)
	assert.Equal(t, "bob", tok.Owner)
	assert.Equal(t, []string{admin.PermAdminTokensRead}, tok.Permissions)
	assert.Equal(t, 200, s.bearer(t, "GET", "/admin-tokens", p.text("key-value")))
}

// TestBrowserAdminTokensAccessibility runs axe-core on the admin tokens
// views, wide and at 390 px: the empty list, the list, the create form,
// the edit page with a key shown, another administrator's token (read-only,
// with a permission its viewer does not hold), a permission refused as
// beyond the owner's (one the owner lost while the form was open), and the
// dialogs.
func TestBrowserAdminTokensAccessibility(t *testing.T) {
	src := axeSource(t)
	s := newAdminSite(t)
	s.setAdmin("carol", admin.PermRead)
	p := newPage(t)
	s.signIn(p, "bob")
	for _, width := range []int64{1280, 390} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			p := p.on(t)
			p.do(chromedp.EmulateViewport(width, 900))
			defer p.do(chromedp.EmulateReset())
			view := func(name string) { t.Helper(); p.axe(src, fmt.Sprintf("%s at %d px", name, width)) }

			if width == 1280 {
				p.open(s.screen(), "#/")
				view("empty list")
				s.adminToken(t, "alice", "alice's", admin.PermRead, admin.PermDelete, admin.PermAdminTokensRead)
				s.adminToken(t, "carol", "carol's", admin.PermRead)
			}
			p.open(s.screen(), "#/new")
			view("create form")
			p.do(chromedp.SendKeys(chromedp.ID("name"), fmt.Sprintf("axe %d", width)), chromedp.Click(chromedp.ID("save")))
			p.wait(`document.getElementById('custom-empty-dialog').open`)
			view("no permission dialog")
			p.closeDialog("custom-empty", "cancel")
			p.do(chromedp.Click(permBox(admin.PermRead)), chromedp.Click(chromedp.ID("save")))
			p.wait(`document.body.dataset.ready.startsWith('#/tokens/') && !document.getElementById('key-banner').hidden`)
			view("key shown")
			p.do(chromedp.Click(chromedp.ID("regenerate")))
			p.wait(`document.getElementById('regenerate-dialog').open`)
			view("regenerate dialog")
			p.do(chromedp.Click(chromedp.ID("regenerate-cancel")))

			p.open(s.screen(), "#/")
			view("list")
			p.open(s.screen(), "#/tokens/"+s.named(t, "alice's").ID)
			require.True(t, p.visible("owner-note"))
			view("another administrator's token")
			// Bob loses admin-tokens.read while his own token's form is
			// open, and ticks it.
			p.open(s.screen(), "#/tokens/"+s.named(t, fmt.Sprintf("axe %d", width)).ID)
			s.setAdmin("bob", slices.DeleteFunc(slices.Clone(bobPerms), func(p string) bool { return p == admin.PermAdminTokensRead })...)
			defer s.setAdmin("bob", bobPerms...)
			p.do(chromedp.Click(permBox(admin.PermAdminTokensRead)), chromedp.Click(chromedp.ID("save")))
			p.wait(`!document.getElementById('permissions-error').hidden`)
			view("a refused permission")
		})
	}
}
