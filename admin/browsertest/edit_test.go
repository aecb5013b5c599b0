package browsertest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
)

// TestBrowserEditPage: the edit page of an expired token says so and offers
// Regenerate, which brings it back to life; a graceful regeneration's old
// key is shown with its deadline until that passes; Unlimited and Full
// access are warned about; the page links to log out.
func TestBrowserEditPage(t *testing.T) {
	ctx := context.Background()
	clk := apitokentest.NewClockAt(time.Now().Add(-8 * 24 * time.Hour))
	s := newSite(t, func(c *apitoken.Config) { c.Clock = clk })
	lapsed, oldKey, err := s.svc.Create(ctx, apitoken.CreateParams{Name: "lapsed", Lifespan: apitoken.Days7})
	require.NoError(t, err)
	clk.Add(8 * 24 * time.Hour)
	live, liveKey, err := s.svc.Create(ctx, apitoken.CreateParams{Name: "live", Lifespan: apitoken.Days30})
	require.NoError(t, err)
	p := newPage(t)
	screen := s.url + "/admin/"

	p.open(screen, "#/tokens/"+lapsed.ID)
	require.True(t, p.visible("expired-banner"))
	assert.Contains(t, p.text("expired-text"), "This token expired on")
	assert.Contains(t, p.text("expired-text"), "7 days from now")
	assert.True(t, p.visible("sign-out"))
	assert.True(t, strings.HasSuffix(eval[string](p, `document.getElementById('sign-out').href`), "/logout"))
	p.screenshot("expired.png")
	p.do(chromedp.Click(chromedp.ID("expired-regenerate")))
	p.wait(`document.getElementById('regenerate-dialog').open`)
	assert.False(t, p.visible("regenerate-overlap"), "a dead key has no overlap to choose")
	p.do(chromedp.Click(chromedp.ID("regenerate-confirm")))
	p.wait(`!document.getElementById('key-banner').hidden && !document.getElementById('expired-banner').checkVisibility()`)
	fresh := p.text("key-value")
	assert.Equal(t, 200, s.call(t, "GET", "/api/articles", fresh), "the new key works")
	assert.Equal(t, 401, s.call(t, "GET", "/api/articles", oldKey), "the old one stays dead")
	assert.Regexp(t, `^Expires on `, p.text("expiry-preview"))
	assert.Equal(t, "…"+fresh[len(fresh)-4:], p.text("key-hint"))

	// A day's overlap: the old key's deadline is shown, after a reload too.
	p.open(screen, "#/tokens/"+live.ID)
	assert.False(t, p.visible("overlap-note"))
	assert.False(t, p.visible("expired-banner"))
	p.do(chromedp.Click(chromedp.ID("regenerate")))
	p.wait(`document.getElementById('regenerate-dialog').open`)
	p.do(chromedp.Click(chromedp.ID("overlap-day")), chromedp.Click(chromedp.ID("regenerate-confirm")))
	p.wait(`!document.getElementById('overlap-note').hidden`)
	assert.Contains(t, p.text("overlap-note"), "The old key works until")
	assert.Equal(t, 200, s.call(t, "GET", "/api/articles", liveKey), "within the overlap")
	p.open(screen, "#/tokens/"+live.ID)
	assert.True(t, p.visible("overlap-note"), "shown until the overlap ends")
	p.screenshot("edit.png")
	clk.Add(25 * time.Hour)
	p.open(screen, "#/tokens/"+live.ID)
	assert.False(t, p.visible("overlap-note"), "and no longer after")

	// Warnings for the riskiest choices.
	assert.False(t, p.visible("lifespan-warning"))
	p.choose("lifespan", "unlimited")
	assert.True(t, p.visible("lifespan-warning"))
	assert.Contains(t, p.text("lifespan-warning"), "never expires")
	p.choose("type", "full-access")
	assert.True(t, p.visible("type-warning"))
	assert.Contains(t, eval[string](p, `document.getElementById('type').getAttribute('aria-describedby')`), "type-warning")
}

// TestBrowserViewKey: with recoverable keys the token read for the edit page
// carries its key, as Strapi 5's does, and Show key uses it: no request
// (here, none could succeed).
func TestBrowserViewKey(t *testing.T) {
	s := newSite(t, func(c *apitoken.Config) { c.EncryptionKey = "browser-test-encryption-key-0123456789" })
	tok, key, err := s.svc.Create(context.Background(), apitoken.CreateParams{Name: "recoverable"})
	require.NoError(t, err)
	p := newPage(t)
	p.open(s.url+"/admin/", "#/tokens/"+tok.ID)
	assert.False(t, p.visible("key-banner"))
	assert.False(t, eval[bool](p, `document.documentElement.outerHTML.includes(`+jsString(key)+`)`), "not on the page until asked for")
	s.signedOut.Store(true)
	p.do(chromedp.Click(chromedp.ID("reveal")))
	p.wait(`!document.getElementById('key-banner').hidden`)
	assert.Equal(t, key, p.text("key-value"))
	assert.False(t, p.visible("signin"), "no request was needed")
}

func jsString(s string) string { return "'" + strings.ReplaceAll(s, "'", "\\'") + "'" }
