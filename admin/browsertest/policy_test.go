package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/admin"
	"github.com/go-apitoken/apitoken/apitokentest"
)

// adminToken reads the token id through the admin JSON API, as any client
// of it would, and returns it with the raw JSON of its data.
func (s *site) adminToken(t *testing.T, id string) (apitoken.Token, string) {
	t.Helper()
	res, err := http.Get(s.url + "/admin/api-tokens/" + id)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, 200, res.StatusCode)
	var body struct{ Data json.RawMessage }
	require.NoError(t, json.NewDecoder(res.Body).Decode(&body))
	var tok apitoken.Token
	require.NoError(t, json.Unmarshal(body.Data, &tok))
	return tok, string(body.Data)
}

// tabTo presses Tab until the focus is on selector, each time on something
// visible.
func (p *page) tabTo(selector string) {
	p.t.Helper()
	for range 80 {
		p.do(chromedp.KeyEvent(kb.Tab))
		require.True(p.t, eval[bool](p, `document.activeElement === document.body || !!document.activeElement.checkVisibility()`),
			"the focus is on something visible, not %s", eval[string](p, `document.activeElement.outerHTML.slice(0, 200)`))
		if eval[bool](p, `document.activeElement.matches(`+fmt.Sprintf("%q", selector)+`)`) {
			return
		}
	}
	require.Fail(p.t, "Tab never reached "+selector)
}

// retype replaces the text of the field id as a user would: select all,
// then type (nothing, to empty it).
func (p *page) retype(id, text string) {
	p.t.Helper()
	p.do(chromedp.Focus(chromedp.ID(id)), chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)), chromedp.KeyEvent(kb.Backspace))
	if text != "" {
		p.do(chromedp.SendKeys(chromedp.ID(id), text))
	}
}

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

// TestBrowserRestrictions sets each restriction through the screen and
// checks, through the JSON API, that the token has it: allowed addresses,
// a rate limit, a quota whose uses left the edit page shows; a save of the
// description sends none of them (the quota is not refilled); a bad address
// gets the server's message by its field with what was typed kept; each is
// cleared; the token is disabled and enabled again.
func TestBrowserRestrictions(t *testing.T) {
	s := newSite(t)
	p := newPage(t)
	screen := s.url + "/admin/"

	p.open(screen, "#/new")
	assert.True(t, eval[bool](p, `document.getElementById('enabled').checked`), "a new token is enabled")
	assert.Equal(t, "switch", eval[string](p, `document.getElementById('enabled').getAttribute('role')`))
	assert.Equal(t, []string{"second", "minute", "hour", "day"}, eval[[]string](p, `[...document.querySelectorAll('#rateLimit-window option')].map(o => o.textContent)`))
	assert.False(t, p.visible("quota-status"), "no uses left to show before there is a quota")
	p.do(
		chromedp.SendKeys(chromedp.ID("name"), "partner"),
		chromedp.SendKeys(chromedp.ID("allowedIPs"), "127.0.0.1\n  203.0.113.0/24 \n\n2001:db8::1"),
		chromedp.SendKeys(chromedp.ID("rateLimit"), "100"),
		chromedp.SendKeys(chromedp.ID("quota"), "1000"),
	)
	p.choose("rateLimit-window", "3600000")
	p.choose("quota-refill", "monthly")
	p.do(chromedp.Click(chromedp.ID("save")))
	p.wait(`document.body.dataset.ready.startsWith("#/tokens/") && !document.getElementById('key-banner').hidden`)
	key := p.text("key-value")
	id := strings.TrimPrefix(eval[string](p, `location.hash`), "#/tokens/")
	got, _ := s.adminToken(t, id)
	assert.Equal(t, prefixes("127.0.0.1/32", "203.0.113.0/24", "2001:db8::1/128"), got.AllowedIPs)
	assert.Equal(t, &apitoken.RateLimit{Requests: 100, Window: apitoken.Duration(time.Hour)}, got.RateLimit)
	require.NotNil(t, got.Quota)
	assert.Equal(t, int64(1000), got.Quota.Limit)
	assert.Equal(t, apitoken.Monthly, got.Quota.Refill)
	assert.False(t, got.Disabled)

	// The edit page shows them, and the uses left as the key spends them.
	assert.Equal(t, "127.0.0.1\n203.0.113.0/24\n2001:db8::1", eval[string](p, `document.getElementById('allowedIPs').value`))
	assert.Equal(t, "1,000 of 1,000 uses left, refilled monthly", p.text("quota-status"))
	for range 3 {
		require.Equal(t, 200, s.call(t, "GET", "/api/articles", key))
	}
	p.open(screen, "#/tokens/"+id)
	assert.Equal(t, "997 of 1,000 uses left, refilled monthly", p.text("quota-status"))
	assert.Equal(t, "100", eval[string](p, `document.getElementById('rateLimit').value`))
	assert.Equal(t, "3600000", eval[string](p, `document.getElementById('rateLimit-window').value`))
	assert.Equal(t, "1000", eval[string](p, `document.getElementById('quota').value`))
	assert.Equal(t, "monthly", eval[string](p, `document.getElementById('quota-refill').value`))
	assert.False(t, p.visible("disabled-banner"))
	p.screenshot("edit-restrictions.png")

	// Saving the description sends no restriction: the quota keeps its count.
	eval[chromedp.Void](p, `window.sent = []; (f => { window.fetch = (u, o) => { if (o && o.method === 'PUT') sent.push(JSON.parse(o.body)); return f(u, o); }; })(window.fetch)`)
	p.do(chromedp.SendKeys(chromedp.ID("description"), "for the partner"), chromedp.Click(chromedp.ID("save")))
	p.wait(`document.getElementById('notice').textContent === 'Saved.'`)
	assert.Equal(t, []string{"description", "name", "type"}, eval[[]string](p, `Object.keys(sent[0]).sort()`), "only the details")
	got, _ = s.adminToken(t, id)
	assert.Equal(t, "for the partner", got.Description)
	assert.Equal(t, int64(997), got.Quota.Remaining, "not refilled")

	// A bad address: the server's message by the field; nothing typed is lost.
	p.do(chromedp.Focus(chromedp.ID("allowedIPs")), chromedp.KeyEvent(kb.End, chromedp.KeyModifiers(chromedp.ModifierCtrl)),
		chromedp.SendKeys(chromedp.ID("allowedIPs"), "\nnot-an-address"))
	p.retype("rateLimit", "250")
	typed := eval[string](p, `document.getElementById('allowedIPs').value`)
	require.True(t, strings.HasSuffix(typed, "2001:db8::1\nnot-an-address"), typed)
	p.do(chromedp.Click(chromedp.ID("save")))
	p.wait(`!document.getElementById('allowedIPs-error').hidden`)
	assert.Equal(t, "not an IP address or network: not-an-address", p.text("allowedIPs-error"))
	assert.Equal(t, "true", eval[string](p, `document.getElementById('allowedIPs').getAttribute('aria-invalid')`))
	assert.Equal(t, "allowedIPs", eval[string](p, `document.activeElement.id`), "the focus goes to the field")
	assert.Equal(t, typed, eval[string](p, `document.getElementById('allowedIPs').value`), "what was typed is kept")
	assert.Equal(t, "250", eval[string](p, `document.getElementById('rateLimit').value`))
	assert.False(t, p.visible("notice"), "no earlier Saved. beside the error")
	assert.Contains(t, eval[string](p, `document.getElementById('allowedIPs').getAttribute('aria-describedby')`), "allowedIPs-error")
	p.screenshot("edit-restrictions-error.png")
	got, _ = s.adminToken(t, id)
	assert.Len(t, got.AllowedIPs, 3, "nothing was saved")
	assert.Equal(t, 100, got.RateLimit.Requests)

	// A rate limit that is no number is refused before sending, by its field.
	p.retype("allowedIPs", "127.0.0.1")
	p.retype("rateLimit", "ten")
	eval[chromedp.Void](p, `sent.length = 0`)
	p.do(chromedp.Click(chromedp.ID("save")))
	p.wait(`!document.getElementById('rateLimit-error').hidden`)
	assert.Contains(t, p.text("rateLimit-error"), "whole number of requests")
	assert.True(t, p.visible("allowedIPs-error") == false, "the address error went with the address")
	assert.Zero(t, eval[int](p, `sent.length`), "nothing sent")
	p.retype("rateLimit", "250")
	p.do(chromedp.Click(chromedp.ID("save")))
	p.wait(`document.getElementById('notice').textContent === 'Saved.'`)
	assert.Equal(t, []string{"allowedIPs", "description", "name", "rateLimit", "type"}, eval[[]string](p, `Object.keys(sent[0]).sort()`))
	got, _ = s.adminToken(t, id)
	assert.Equal(t, prefixes("127.0.0.1/32"), got.AllowedIPs)
	assert.Equal(t, &apitoken.RateLimit{Requests: 250, Window: apitoken.Duration(time.Hour)}, got.RateLimit)
	assert.Equal(t, int64(997), got.Quota.Remaining, "still not refilled")

	// Clear all three.
	p.retype("allowedIPs", "")
	p.retype("rateLimit", "")
	p.retype("quota", "")
	p.do(chromedp.Click(chromedp.ID("save")))
	p.wait(`document.getElementById('notice').textContent === 'Saved.' && document.getElementById('quota-status').hidden`)
	_, raw := s.adminToken(t, id)
	for _, field := range []string{"allowedIPs", "rateLimit", "quota", "disabled"} {
		assert.NotContains(t, raw, `"`+field+`"`, "cleared")
	}

	// Disable with the switch: the key is refused, the page and the list say so.
	p.do(chromedp.Click(chromedp.ID("enabled")), chromedp.Click(chromedp.ID("save")))
	p.wait(`!document.getElementById('disabled-banner').hidden`)
	got, _ = s.adminToken(t, id)
	assert.True(t, got.Disabled)
	assert.Equal(t, 401, s.call(t, "GET", "/api/articles", key))
	assert.False(t, eval[bool](p, `document.getElementById('enabled').checked`))
	p.open(screen, "#/")
	assert.Equal(t, "Disabled", eval[string](p, fmt.Sprintf(`document.querySelector('#token-rows tr[data-id=%q] .badge').textContent`, id)))

	// Enable from the banner: at once, leaving what was typed for Save.
	p.open(screen, "#/tokens/"+id)
	require.True(t, p.visible("disabled-banner"))
	p.do(chromedp.SendKeys(chromedp.ID("description"), ", typed"))
	p.do(chromedp.Click(chromedp.ID("enable")))
	p.wait(`document.getElementById('disabled-banner').hidden`)
	assert.Contains(t, p.text("notice"), "is enabled")
	assert.Equal(t, "form-title", eval[string](p, `document.activeElement.id`), "the focus does not drop to the page")
	assert.True(t, eval[bool](p, `document.getElementById('enabled').checked`))
	assert.Equal(t, "for the partner, typed", eval[string](p, `document.getElementById('description').value`), "what was typed stays")
	got, _ = s.adminToken(t, id)
	assert.False(t, got.Disabled)
	assert.Equal(t, "for the partner", got.Description, "Enable saved nothing else")
	assert.Equal(t, 200, s.call(t, "GET", "/api/articles", key))
	p.do(chromedp.Click(chromedp.ID("save"))) // with the new version: not refused as a stale edit
	p.wait(`document.getElementById('notice').textContent === 'Saved.'`)
	got, _ = s.adminToken(t, id)
	assert.Equal(t, "for the partner, typed", got.Description)
}

// TestBrowserRestrictionsKeyboard sets every restriction with the keyboard
// alone, on a 390 px window that never scrolls sideways, then enables the
// token from its banner the same way.
func TestBrowserRestrictionsKeyboard(t *testing.T) {
	s := newSite(t)
	p := newPage(t)
	p.do(chromedp.EmulateViewport(390, 844))
	p.open(s.url+"/admin/", "#/new")
	p.do(chromedp.KeyEvent("by keyboard"))
	p.tabTo("#enabled")
	p.do(chromedp.KeyEvent(" "))
	assert.False(t, eval[bool](p, `document.getElementById('enabled').checked`), "Space turns the switch off")
	assert.Equal(t, "Off: once saved, the key is refused (401).", p.text("enabled-off"), "and the form says what that means")
	assert.True(t, p.visible("enabled-off"))
	p.tabTo("#allowedIPs")
	p.do(chromedp.KeyEvent("10.0.0.0/8"), chromedp.KeyEvent(kb.Enter), chromedp.KeyEvent("::1"))
	p.tabTo("#rateLimit")
	p.do(chromedp.KeyEvent("5"))
	p.tabTo("#rateLimit-window")
	p.do(chromedp.KeyEvent(kb.ArrowDown)) // minute → hour
	p.tabTo("#quota")
	p.do(chromedp.KeyEvent("50"))
	p.tabTo("#quota-refill")
	p.do(chromedp.KeyEvent(kb.ArrowDown)) // never → daily
	p.fits("create form with restrictions")
	p.tabTo("#save")
	p.do(chromedp.KeyEvent(kb.Enter))
	p.wait(`!document.getElementById('key-banner').hidden`)
	tok := s.tokenNamed(t, "by keyboard")
	require.NotNil(t, tok)
	got, _ := s.adminToken(t, tok.ID)
	assert.True(t, got.Disabled)
	assert.Equal(t, prefixes("10.0.0.0/8", "::1/128"), got.AllowedIPs)
	assert.Equal(t, &apitoken.RateLimit{Requests: 5, Window: apitoken.Duration(time.Hour)}, got.RateLimit)
	require.NotNil(t, got.Quota)
	assert.Equal(t, int64(50), got.Quota.Limit)
	assert.Equal(t, apitoken.Daily, got.Quota.Refill)

	p.open(s.url+"/admin/", "#/tokens/"+tok.ID)
	assert.Equal(t, "50 of 50 uses left, refilled daily", p.text("quota-status"))
	assert.Equal(t, "Off: the key is refused (401).", p.text("enabled-off"))
	p.fits("edit page, disabled, with restrictions")
	p.screenshot("edit-restrictions-narrow.png")
	p.tabTo("#enable")
	p.do(chromedp.KeyEvent(kb.Enter))
	p.wait(`document.getElementById('disabled-banner').hidden`)
	got, _ = s.adminToken(t, tok.ID)
	assert.False(t, got.Disabled)
	p.fits("edit page, enabled")
}

// TestBrowserIdleFilter: the list's Unused-for filter, answered by the
// server (never-used tokens count from their creation), with the search and
// the Disabled badge.
func TestBrowserIdleFilter(t *testing.T) {
	ctx := context.Background()
	clk := apitokentest.NewClockAt(time.Now().Add(-400 * 24 * time.Hour))
	s := newSite(t, func(c *apitoken.Config) { c.Clock = clk })
	mk := func(name string, disabled bool) string {
		t.Helper()
		_, key, err := s.svc.Create(ctx, apitoken.CreateParams{Name: name, PolicyParams: apitoken.PolicyParams{Disabled: &disabled}})
		require.NoError(t, err)
		return key
	}
	mk("ancient", false) // never used, made 400 days ago
	clk.Add(340 * 24 * time.Hour)
	mk("quarterly", false) // never used, made 60 days ago
	busy := mk("busy", false)
	clk.Add(55 * 24 * time.Hour)
	_, err := s.svc.Verify(ctx, busy) // used 5 days ago
	require.NoError(t, err)
	require.NoError(t, s.svc.Flush(ctx))
	clk.Add(5 * 24 * time.Hour)
	mk("paused", true)

	p := newPage(t)
	p.open(s.url+"/admin/", "#/")
	shown := `[...document.querySelectorAll('#token-rows .truncate')].map(s => s.textContent).join()`
	assert.Equal(t, "ancient,busy,paused,quarterly", eval[string](p, shown))
	assert.Equal(t, []string{"Disabled"}, eval[[]string](p, `[...document.querySelectorAll('#token-rows .badge')].map(b => b.textContent)`))
	assert.Equal(t, "paused", eval[string](p, `document.querySelector('#token-rows .badge').closest('tr').querySelector('.truncate').textContent`))
	p.screenshot("list-disabled.png")
	for _, tt := range []struct{ value, want string }{
		{"30d", "ancient,quarterly"},
		{"90d", "ancient"},
		{"365d", "ancient"},
		{"", "ancient,busy,paused,quarterly"},
	} {
		p.choose("filter-idle", tt.value)
		p.wait(fmt.Sprintf(`(%s) === %q`, shown, tt.want))
	}
	p.choose("filter-idle", "30d")
	p.wait(`document.getElementById('list-count').textContent === '1–2 of 2 tokens'`)
	p.do(chromedp.SendKeys(chromedp.ID("search"), "busy"))
	p.wait(`!document.getElementById('no-match').hidden`)
	assert.False(t, p.visible("empty"), "a filter that finds nothing is not the first-token invitation")
	p.fits("no match")

	// An administrator who may only read sees the restrictions, and cannot
	// change them: no Enable, no switch to flip.
	s.perms.Store(&[]string{admin.PermAccess, admin.PermRead})
	paused := s.tokenNamed(t, "paused")
	p.open(s.url+"/admin/", "#/tokens/"+paused.ID)
	assert.True(t, p.visible("disabled-banner"))
	assert.False(t, p.visible("enable"))
	assert.True(t, eval[bool](p, `['enabled', 'allowedIPs', 'rateLimit', 'rateLimit-window', 'quota', 'quota-refill'].every(id => document.getElementById(id).matches(':disabled'))`))
}

// TestBrowserRestrictionsOddWindow: a rate limit set through the API with a
// window the screen does not offer is shown as it is, and a save of
// something else keeps it.
func TestBrowserRestrictionsOddWindow(t *testing.T) {
	s := newSite(t)
	tok, _, err := s.svc.Create(context.Background(), apitoken.CreateParams{Name: "odd", PolicyParams: apitoken.PolicyParams{
		RateLimit: &apitoken.RateLimit{Requests: 7, Window: apitoken.Duration(30 * time.Second)}}})
	require.NoError(t, err)
	p := newPage(t)
	p.open(s.url+"/admin/", "#/tokens/"+tok.ID)
	assert.Equal(t, "30000", eval[string](p, `document.getElementById('rateLimit-window').value`))
	assert.Equal(t, "30 seconds", eval[string](p, `document.getElementById('rateLimit-window').selectedOptions[0].textContent`))
	assert.Equal(t, "7", eval[string](p, `document.getElementById('rateLimit').value`))
	p.do(chromedp.SendKeys(chromedp.ID("description"), "edited"), chromedp.Click(chromedp.ID("save")))
	p.wait(`document.getElementById('notice').textContent === 'Saved.'`)
	got, _ := s.adminToken(t, tok.ID)
	assert.Equal(t, "edited", got.Description)
	assert.Equal(t, &apitoken.RateLimit{Requests: 7, Window: apitoken.Duration(30 * time.Second)}, got.RateLimit)
	p.retype("rateLimit", "8")
	p.do(chromedp.Click(chromedp.ID("save")))
	p.wait(`document.getElementById('rateLimit').value === '8' && document.getElementById('notice').textContent === 'Saved.'`)
	got, _ = s.adminToken(t, tok.ID)
	assert.Equal(t, &apitoken.RateLimit{Requests: 8, Window: apitoken.Duration(30 * time.Second)}, got.RateLimit, "the window kept")
}
