package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/internal/testenv"
)

// axeSource returns axe-core, which `npm ci` in admin/browsertest installs
// (package.json pins it). Without it the test is skipped, or in CI failed.
func axeSource(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		testenv.Need(t, "axe-core is not installed: run npm ci in admin/browsertest")
	}
	return string(b)
}

// violation is what axe reports of one rule.
type violation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
	} `json:"nodes"`
}

// axeRun runs axe-core on the view on screen (the injection is by the
// DevTools protocol, which the page's CSP does not govern) and returns its
// violations.
func (p *page) axeRun(src, view string) []violation {
	p.t.Helper()
	if !eval[bool](p, `typeof window.axe === 'object'`) {
		eval[chromedp.Void](p, src)
	}
	ctx, cancel := context.WithTimeout(p.ctx, 60*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`axe.run(document, {
		runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']},
		resultTypes: ['violations'],
	}).then(r => JSON.stringify(r.violations))`, chromedp.EvalAwaitPromise))
	require.NoError(p.t, err, view)
	var vs []violation
	require.NoError(p.t, json.Unmarshal([]byte(raw), &vs), view)
	return vs
}

// axe fails the test on any serious or critical violation of the view on
// screen, and logs the others.
func (p *page) axe(src, view string) {
	p.t.Helper()
	for _, v := range p.axeRun(src, view) {
		var where []string
		for _, n := range v.Nodes {
			where = append(where, fmt.Sprint(n.Target)+" "+n.HTML)
		}
		msg := fmt.Sprintf("%s: axe %s (%s): %s\n  %s", view, v.ID, v.Impact, v.Help, strings.Join(where, "\n  "))
		if v.Impact == "serious" || v.Impact == "critical" {
			p.t.Error(msg)
		} else {
			p.t.Log(msg)
		}
	}
}

// TestBrowserAccessibility runs axe-core on every view of the screen, wide
// and at 390 px: the empty list, the list, create, custom, a key shown, the
// edit page, an expired token, a disabled token with every restriction and
// its field errors, the idle filter matching nothing, the sign-in-again
// state, not found, and each dialog.
func TestBrowserAccessibility(t *testing.T) {
	src := axeSource(t)
	ctx := context.Background()
	clk := apitokentest.NewClockAt(time.Now().Add(-8 * 24 * time.Hour))
	s := newSite(t, func(c *apitoken.Config) { c.Clock = clk })
	p := newPage(t)
	screen := s.url + "/admin/"

	for _, width := range []int64{1280, 390} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			p := p.on(t)
			p.do(chromedp.EmulateViewport(width, 900))
			defer p.do(chromedp.EmulateReset())
			view := func(name string) { t.Helper(); p.axe(src, fmt.Sprintf("%s at %d px", name, width)) }

			p.open(screen, "#/")
			if width == 1280 {
				// Probe: axe runs, and sees a violation put there for it.
				eval[chromedp.Void](p, `document.getElementById('main').append(Object.assign(document.createElement('img'), {id: 'probe', src: 'data:,'}))`)
				var ids []string
				for _, v := range p.axeRun(src, "probe") {
					ids = append(ids, v.ID+"/"+v.Impact)
				}
				require.Contains(t, ids, "image-alt/critical", "axe reports an image without alt text")
				eval[chromedp.Void](p, `document.getElementById('probe').remove()`)
				view("empty list")
				lapsed, _, err := s.svc.Create(ctx, apitoken.CreateParams{Name: "lapsed", Description: "expired", Lifespan: apitoken.Days7})
				require.NoError(t, err)
				clk.Add(8 * 24 * time.Hour)
				for _, n := range []string{"analytics", "ci deploy", "mobile app"} {
					_, _, err := s.svc.Create(ctx, apitoken.CreateParams{Name: n, Description: "for " + n, Type: apitoken.FullAccess})
					require.NoError(t, err)
				}
				_, _, err = s.svc.Create(ctx, apitoken.CreateParams{Name: "expiring", Lifespan: apitoken.Days7})
				require.NoError(t, err)
				off := true
				_, _, err = s.svc.Create(ctx, apitoken.CreateParams{Name: "restricted", Description: "disabled, with every restriction",
					PolicyParams: apitoken.PolicyParams{Disabled: &off, AllowedIPs: []string{"203.0.113.0/24", "2001:db8::1"},
						RateLimit: &apitoken.RateLimit{Requests: 100, Window: apitoken.Duration(time.Minute)},
						Quota:     &apitoken.Quota{Limit: 1000, Refill: apitoken.Daily}}})
				require.NoError(t, err)
				_ = lapsed
				p.open(screen, "#/")
			}
			view("list")
			p.choose("filter-idle", "365d")
			p.wait(`!document.getElementById('no-match').hidden`)
			view("list, idle filter matching nothing")
			p.choose("filter-idle", "")
			p.wait(`document.getElementById('no-match').hidden`)
			p.do(chromedp.Click(chromedp.CSS(`#token-rows button.delete`)))
			p.wait(`document.getElementById('delete-dialog').open`)
			view("delete dialog")
			p.do(chromedp.Click(chromedp.ID("delete-cancel")))
			p.do(chromedp.Click(chromedp.CSS(`#token-rows button.regenerate`)))
			p.wait(`document.getElementById('regenerate-dialog').open`)
			view("regenerate dialog")
			p.do(chromedp.Click(chromedp.ID("regenerate-cancel")))

			p.open(screen, "#/new")
			view("create form")
			p.choose("type", "custom")
			p.do(chromedp.SendKeys(chromedp.ID("name"), fmt.Sprintf("axe %d", width)), chromedp.Click(chromedp.ID("save")))
			p.wait(`document.getElementById('custom-empty-dialog').open`)
			view("custom with no permission dialog")
			p.do(chromedp.Click(chromedp.ID("custom-empty-cancel")))
			p.wait(`!document.getElementById('custom-empty-dialog').open`)
			// The permissions may be drawn anew as the dialog closes: click
			// until the box holds its tick.
			findBox := `#permissions .perm input[value="api::article.article.find"]`
			for range 10 {
				p.do(chromedp.Click(chromedp.CSS(findBox)))
				if eval[bool](p, `document.querySelector('`+findBox+`').checked`) {
					break
				}
			}
			p.wait(`document.querySelector('` + findBox + `').checked`)
			view("custom form")
			p.do(chromedp.Click(chromedp.ID("save")))
			p.wait(`document.body.dataset.ready.startsWith('#/tokens/') && !document.getElementById('key-banner').hidden`)
			view("key shown")
			if width == 1280 {
				p.screenshot("key-shown.png")
			}
			p.choose("lifespan", "unlimited")
			p.choose("type", "full-access")
			view("edit page with warnings")

			restricted := s.tokenNamed(t, "restricted")
			p.open(screen, "#/tokens/"+restricted.ID)
			require.True(t, p.visible("disabled-banner"))
			require.True(t, p.visible("quota-status"))
			view("disabled token with restrictions")
			p.do(chromedp.SendKeys(chromedp.ID("allowedIPs"), "\nnope"), chromedp.SendKeys(chromedp.ID("rateLimit"), "x"),
				chromedp.Click(chromedp.ID("enabled")))
			p.do(chromedp.Click(chromedp.ID("save")))
			p.wait(`!document.getElementById('rateLimit-error').hidden`)
			view("restriction refused before sending")
			p.retype("rateLimit", "100")
			p.do(chromedp.Click(chromedp.ID("save")))
			p.wait(`!document.getElementById('allowedIPs-error').hidden`)
			view("restriction refused by the server")

			lapsed := s.tokenNamed(t, "lapsed")
			p.open(screen, "#/tokens/"+lapsed.ID)
			view("expired token")
			s.signedOut.Store(true)
			p.do(chromedp.Click(chromedp.ID("save")))
			p.wait(`!document.getElementById('signin').hidden`)
			view("sign in again")
			s.signedOut.Store(false)

			p.open(screen, "#/tokens/nothing-here")
			view("not found")
		})
	}
}
