package browsertest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
)

// checked lists the permission boxes ticked.
const checked = `[...document.querySelectorAll('#permissions .perm input:checked')].map(i => i.value)`

// tokenNamed returns the stored token called name, or nil.
func (s *site) tokenNamed(t *testing.T, name string) *apitoken.Token {
	t.Helper()
	list, err := s.svc.List(context.Background())
	require.NoError(t, err)
	for _, tok := range list {
		if tok.Name == name {
			return tok
		}
	}
	return nil
}

// TestBrowserCustomType: choosing Custom starts from no permission, so that
// ticking two saves two; ticking a box under Read-only keeps Read-only's
// ticks and makes the token Custom (Strapi's way); a Custom token with no
// permission is saved only once confirmed.
func TestBrowserCustomType(t *testing.T) {
	s := newSite(t)
	p := newPage(t)
	screen := s.url + "/admin/"

	p.open(screen, "#/new")
	require.Len(t, eval[[]string](p, checked), 4, "Read-only ticks find and findOne")
	p.choose("type", "custom")
	assert.Empty(t, eval[[]string](p, checked), "Custom starts from none")
	p.do(chromedp.SendKeys(chromedp.ID("name"), "two actions"),
		chromedp.Click(chromedp.CSS(`#permissions .perm input[value="api::article.article.create"]`)),
		chromedp.Click(chromedp.CSS(`#permissions .perm input[value="api::article.article.delete"]`)))
	p.screenshot("custom.png")
	p.do(chromedp.Click(chromedp.ID("save")))
	p.wait(`!document.getElementById('key-banner').hidden`)
	tok := s.tokenNamed(t, "two actions")
	require.NotNil(t, tok)
	assert.Equal(t, apitoken.Custom, tok.Type)
	assert.Equal(t, []string{"api::article.article.create", "api::article.article.delete"}, tok.Permissions, "two ticked, two saved")

	// Read-only, then a tick: Custom, with Read-only's ticks kept.
	p.open(screen, "#/new")
	p.do(chromedp.Click(chromedp.CSS(`#permissions .perm input[value="api::article.article.create"]`)))
	assert.Equal(t, "custom", eval[string](p, `document.getElementById('type').value`))
	assert.Len(t, eval[[]string](p, checked), 5)
	// Full access then Custom: none again.
	p.choose("type", "full-access")
	assert.True(t, p.visible("type-warning"), "full access is warned about")
	p.choose("type", "custom")
	assert.Empty(t, eval[[]string](p, checked))
	assert.False(t, p.visible("type-warning"))

	// No permission: asked first; Go back saves nothing and returns to Save.
	p.do(chromedp.SendKeys(chromedp.ID("name"), "nothing allowed"), chromedp.Click(chromedp.ID("save")))
	p.wait(`document.getElementById('custom-empty-dialog').open`)
	assert.Equal(t, "custom-empty-cancel", eval[string](p, `document.activeElement.id`), "the safe choice has the focus")
	p.screenshot("custom-empty-dialog.png")
	p.do(chromedp.Click(chromedp.ID("custom-empty-cancel")))
	p.wait(`!document.getElementById('custom-empty-dialog').open`)
	assert.Equal(t, "save", eval[string](p, `document.activeElement.id`))
	assert.Nil(t, s.tokenNamed(t, "nothing allowed"), "Go back saved nothing")
	p.do(chromedp.Click(chromedp.ID("save")))
	p.wait(`document.getElementById('custom-empty-dialog').open`)
	p.do(chromedp.Click(chromedp.ID("custom-empty-confirm")))
	p.wait(`!document.getElementById('key-banner').hidden`)
	tok = s.tokenNamed(t, "nothing allowed")
	require.NotNil(t, tok, "Save anyway saved it")
	assert.Empty(t, tok.Permissions)
}

// TestBrowserSessionEnded: with the session gone, Save and Delete neither
// hang nor lose anything: the screen says to sign in again, keeps what was
// typed, and Try again finishes the job once signed in.
func TestBrowserSessionEnded(t *testing.T) {
	s := newSite(t)
	p := newPage(t)
	screen := s.url + "/admin/"

	p.open(screen, "#/new")
	p.do(chromedp.SendKeys(chromedp.ID("name"), "after the session"),
		chromedp.SendKeys(chromedp.ID("description"), "typed before it ended"))
	p.choose("type", "custom")
	p.do(chromedp.Click(chromedp.CSS(`#permissions .perm input[value="api::category.category.find"]`)))
	s.signedOut.Store(true)
	p.do(chromedp.Click(chromedp.ID("save")))
	p.wait(`!document.getElementById('signin').hidden`)
	assert.Equal(t, "signin", eval[string](p, `document.activeElement.id`), "the sign-in state has the focus")
	assert.True(t, strings.HasSuffix(eval[string](p, `document.getElementById('signin-link').href`), "/login"))
	assert.Equal(t, "_blank", eval[string](p, `document.getElementById('signin-link').target`), "signing in keeps this tab")
	assert.Equal(t, "after the session", eval[string](p, `document.getElementById('name').value`))
	assert.Equal(t, "typed before it ended", eval[string](p, `document.getElementById('description').value`))
	assert.Equal(t, []string{"api::category.category.find"}, eval[[]string](p, checked))
	assert.Nil(t, s.tokenNamed(t, "after the session"))
	p.screenshot("session-ended.png")

	s.signedOut.Store(false) // signed in again, in another tab
	p.do(chromedp.Click(chromedp.ID("signin-retry")))
	p.wait(`!document.getElementById('key-banner').hidden`)
	assert.False(t, p.visible("signin"))
	tok := s.tokenNamed(t, "after the session")
	require.NotNil(t, tok, "Try again saved what was typed")
	assert.Equal(t, "typed before it ended", tok.Description)
	assert.Equal(t, []string{"api::category.category.find"}, tok.Permissions)

	// Delete, from the edit page.
	p.open(screen, "#/tokens/"+tok.ID)
	s.signedOut.Store(true)
	p.do(chromedp.Click(chromedp.ID("delete")))
	p.wait(`document.getElementById('delete-dialog').open`)
	p.do(chromedp.Click(chromedp.ID("delete-confirm")))
	p.wait(`!document.getElementById('signin').hidden`)
	_, err := s.svc.Get(context.Background(), tok.ID)
	require.NoError(t, err, "not deleted without a session")
	s.signedOut.Store(false)
	p.do(chromedp.Click(chromedp.ID("signin-retry")))
	p.wait(`document.body.dataset.ready === "#/" && !document.getElementById('list-view').hidden`)
	_, err = s.svc.Get(context.Background(), tok.ID)
	assert.ErrorIs(t, err, apitoken.ErrNotFound, "Try again deleted it")

	// Loading the screen itself without a session: the same state, and
	// Try again loads it.
	s.signedOut.Store(true)
	p.do(chromedp.Navigate("about:blank"), chromedp.Navigate(screen+"#/"))
	p.wait(`document.body.dataset.ready === 'error' && !document.getElementById('signin').hidden`)
	s.signedOut.Store(false)
	p.do(chromedp.Click(chromedp.ID("signin-retry")))
	p.wait(`document.body.dataset.ready === "#/"`)
	assert.True(t, p.visible("list-view"))
}

// fits asserts that the page is no wider than the window.
func (p *page) fits(what string) {
	p.t.Helper()
	assert.LessOrEqual(p.t, eval[int](p, `Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)`),
		eval[int](p, `window.innerWidth`), what+": no horizontal scroll")
}

// TestBrowserLongText: a 100-character unbroken name and a 900-character
// description neither widen the page nor make rows tall: names are cut to
// one line and descriptions to two, shown whole on hover (title) and while
// the row has the focus; dates never wrap. At 1,265 px and at 390 px.
func TestBrowserLongText(t *testing.T) {
	s := newSite(t)
	p := newPage(t)
	screen := s.url + "/admin/"
	name := strings.Repeat("W", apitoken.MaxNameLen)
	desc := strings.TrimSpace(strings.Repeat("lorem ipsum dolor sit amet ", 34))[:900]
	long, _, err := s.svc.Create(context.Background(), apitoken.CreateParams{Name: name, Description: desc, Lifespan: apitoken.Days90})
	require.NoError(t, err)
	_, _, err = s.svc.Create(context.Background(), apitoken.CreateParams{Name: "short", Description: "one line"})
	require.NoError(t, err)
	row := fmt.Sprintf(`document.querySelector('#token-rows tr[data-id=%q]')`, long.ID)

	for _, width := range []int{1265, 390} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			p := p.on(t)
			p.do(chromedp.EmulateViewport(int64(width), 900))
			defer p.do(chromedp.EmulateReset())
			p.open(screen, "#/")
			p.fits("list")
			if width > 1000 {
				assert.LessOrEqual(t, eval[float64](p, row+`.getBoundingClientRect().height`), 80.0, "the row stays one or two lines tall: %s",
					eval[string](p, `[...`+row+`.children].map(c => c.dataset.label + ':' + (c.firstElementChild ? c.firstElementChild.getBoundingClientRect().height + '/' + c.firstElementChild.getBoundingClientRect().width : '-')).join(' ')`))
			} else {
				assert.LessOrEqual(t, eval[float64](p, row+`.getBoundingClientRect().height`), 420.0, "the card stays short")
			}
			for _, col := range []string{"Created", "Expires"} {
				assert.Equal(t, 1, eval[int](p, row+`.querySelector('td[data-label="`+col+`"] time').getClientRects().length`), col+" on one line")
			}
			assert.Equal(t, name, eval[string](p, row+`.querySelector('.truncate').title`), "the whole name on hover")
			assert.Equal(t, desc, eval[string](p, row+`.querySelector('.clamp').title`), "the whole description on hover")
			assert.Equal(t, "nowrap", eval[string](p, `getComputedStyle(`+row+`.querySelector('.truncate')).whiteSpace`))
			if width == 390 {
				p.screenshot("list-narrow.png")
			}
			eval[chromedp.Void](p, row+`.querySelector('a').focus()`)
			assert.Equal(t, "normal", eval[string](p, `getComputedStyle(`+row+`.querySelector('.truncate')).whiteSpace`), "the whole name while the row has the focus")
			p.fits("list with a row expanded")

			p.open(screen, "#/tokens/"+long.ID)
			p.fits("edit page")
			assert.Equal(t, name, eval[string](p, `document.getElementById('form-title').title`))
			if width == 390 {
				p.screenshot("edit-narrow.png")
			}
			p.open(screen, "#/new")
			p.fits("create form")
			p.open(screen, "#/tokens/no-such-token")
			p.fits("not found")
		})
	}
}

// TestBrowserFocus: every view opens at its top with the focus where it
// starts, and the focus never drops to the page's body: after Save, after
// opening a token, after a delete; an unknown token's page leads back; a
// name over 100 characters is kept whole and refused with a reason.
func TestBrowserFocus(t *testing.T) {
	s := newSite(t)
	p := newPage(t)
	screen := s.url + "/admin/"
	ctx := context.Background()
	for i := range 30 {
		_, _, err := s.svc.Create(ctx, apitoken.CreateParams{Name: fmt.Sprintf("token %02d", i), Description: "one of many"})
		require.NoError(t, err)
	}
	p.do(chromedp.EmulateViewport(1265, 700))
	p.open(screen, "#/")
	eval[chromedp.Void](p, `window.scrollTo(0, document.body.scrollHeight)`)
	require.Positive(t, eval[float64](p, `window.scrollY`), "the list scrolls")
	last := s.tokenNamed(t, "token 24") // the list's last row: 25 a page
	p.do(chromedp.Focus(chromedp.CSS(fmt.Sprintf(`#token-rows tr[data-id=%q] a`, last.ID))), chromedp.KeyEvent(kb.Enter))
	p.wait(fmt.Sprintf(`document.body.dataset.ready === "#/tokens/%s"`, last.ID))
	assert.Zero(t, eval[float64](p, `window.scrollY`), "the edit page opens at its top")
	assert.Equal(t, "form-title", eval[string](p, `document.activeElement.id`), "and its heading has the focus")

	// Save with the keyboard: the focus stays on Save.
	p.do(chromedp.Focus(chromedp.ID("description")), chromedp.SendKeys(chromedp.ID("description"), ", edited"),
		chromedp.Focus(chromedp.ID("save")), chromedp.KeyEvent(kb.Enter))
	p.wait(`document.getElementById('notice').textContent === 'Saved.'`)
	assert.Equal(t, "save", eval[string](p, `document.activeElement.id`), "the focus stays on Save")

	// Delete from the edit page: the list's heading takes the focus.
	p.do(chromedp.Click(chromedp.ID("delete")))
	p.wait(`document.getElementById('delete-dialog').open`)
	p.do(chromedp.Focus(chromedp.ID("delete-confirm")), chromedp.KeyEvent(kb.Enter))
	p.wait(`document.body.dataset.ready === "#/" && document.activeElement.id === 'list-title'`)
	// Delete from the list: the same.
	first := s.tokenNamed(t, "token 00")
	p.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`#token-rows tr[data-id=%q] button.delete`, first.ID))))
	p.wait(`document.getElementById('delete-dialog').open`)
	p.do(chromedp.Click(chromedp.ID("delete-confirm")))
	p.wait(fmt.Sprintf(`!document.querySelector('#token-rows tr[data-id=%q]')`, first.ID))
	assert.Equal(t, "list-title", eval[string](p, `document.activeElement.id`))

	// An unknown token: a page that says so, with the way back focused next.
	p.open(screen, "#/tokens/"+first.ID)
	assert.True(t, p.visible("missing-view"))
	assert.Equal(t, "missing-title", eval[string](p, `document.activeElement.id`))
	p.screenshot("not-found.png")
	p.do(chromedp.KeyEvent(kb.Tab))
	assert.Equal(t, "missing-back", eval[string](p, `document.activeElement.id`))
	p.do(chromedp.KeyEvent(kb.Enter))
	p.wait(`document.body.dataset.ready === "#/"`)
	assert.True(t, p.visible("list-view"))

	// A name over the limit is kept whole, counted, and refused with a reason.
	p.open(screen, "#/new")
	p.do(chromedp.SendKeys(chromedp.ID("name"), strings.Repeat("n", apitoken.MaxNameLen+20)))
	assert.Equal(t, apitoken.MaxNameLen+20, eval[int](p, `document.getElementById('name').value.length`), "nothing is cut")
	assert.Contains(t, p.text("name-count"), "20 too many")
	p.do(chromedp.Click(chromedp.ID("save")))
	p.wait(`!document.getElementById('name-error').hidden`)
	assert.Contains(t, p.text("name-error"), "at most 100 characters")
	assert.Equal(t, "name", eval[string](p, `document.activeElement.id`))
	assert.Nil(t, s.tokenNamed(t, strings.Repeat("n", apitoken.MaxNameLen+20)))
}

// TestBrowserKeyboard walks the main flow with the keyboard alone: Tab to
// Create, type, Tab to Save, copy the key, back to the list. Each Tab lands
// on something visible.
func TestBrowserKeyboard(t *testing.T) {
	s := newSite(t)
	p := newPage(t)
	p.do(chromedp.EmulateViewport(390, 844))
	p.open(s.url+"/admin/", "#/")
	tabTo := func(selector string) {
		t.Helper()
		for range 60 {
			p.do(chromedp.KeyEvent(kb.Tab))
			require.True(t, eval[bool](p, `document.activeElement === document.body /* past the end: the tab order wraps */ || !!document.activeElement.checkVisibility()`),
				"the focus is on something visible, not %s", eval[string](p, `document.activeElement.outerHTML.slice(0, 200)`))
			if eval[bool](p, `document.activeElement.matches(`+fmt.Sprintf("%q", selector)+`)`) {
				return
			}
		}
		require.Fail(t, "Tab never reached "+selector)
	}
	tabTo("#create-link")
	p.do(chromedp.KeyEvent(kb.Enter))
	p.wait(`document.body.dataset.ready === "#/new"`)
	p.do(chromedp.KeyEvent("by keyboard"))
	tabTo("#save")
	p.do(chromedp.KeyEvent(kb.Enter))
	p.wait(`!document.getElementById('key-banner').hidden`)
	assert.Equal(t, "copy-key", eval[string](p, `document.activeElement.id`), "the key's Copy button has the focus")
	p.fits("key shown")
	p.do(chromedp.KeyEvent(kb.Enter)) // Copy: to the clipboard, or the key selected with how to copy it
	p.wait(`document.getElementById('copy-status').textContent !== ''`)
	tabTo("a.back")
	p.do(chromedp.KeyEvent(kb.Enter))
	p.wait(`document.body.dataset.ready === "#/"`)
	assert.Equal(t, "list-title", eval[string](p, `document.activeElement.id`))
	tok := s.tokenNamed(t, "by keyboard")
	require.NotNil(t, tok)
	tabTo(fmt.Sprintf(`#token-rows tr[data-id=%q] button.regenerate`, tok.ID))
	p.do(chromedp.KeyEvent(kb.Enter))
	p.wait(`document.getElementById('regenerate-dialog').open`)
	p.fits("regenerate dialog")
	p.do(chromedp.KeyEvent(kb.Escape))
	p.wait(`!document.getElementById('regenerate-dialog').open`)
	assert.Contains(t, eval[string](p, `document.activeElement.className`), "regenerate", "Escape gives the focus back")

	// Delete: Tab from Cancel, which has the focus, to Delete.
	tabTo(fmt.Sprintf(`#token-rows tr[data-id=%q] button.delete`, tok.ID))
	p.do(chromedp.KeyEvent(kb.Enter))
	p.wait(`document.getElementById('delete-dialog').open`)
	assert.Equal(t, "delete-cancel", eval[string](p, `document.activeElement.id`))
	tabTo("#delete-confirm")
	p.do(chromedp.KeyEvent(kb.Enter))
	p.wait(`document.getElementById('empty').checkVisibility()`)
	assert.Equal(t, "list-title", eval[string](p, `document.activeElement.id`))
	assert.Nil(t, s.tokenNamed(t, "by keyboard"))
}
