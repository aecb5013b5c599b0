package browsertest

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
)

// rowNames lists the names of the rows on screen.
const rowNames = `[...document.querySelectorAll('#token-rows th')].map(th => th.textContent)`

// TestBrowserList: the list of 1,002 tokens a page at a time, with its Type
// and Key columns, Expired and expiring badges, search, filters, sorts and
// Regenerate on the row.
func TestBrowserList(t *testing.T) {
	ctx := context.Background()
	clk := apitokentest.NewClockAt(time.Now().Add(-10 * 24 * time.Hour))
	s := newSite(t, func(c *apitoken.Config) { c.Clock = clk })
	lapsed, _, err := s.svc.Create(ctx, apitoken.CreateParams{Name: "lapsed", Description: "expired last week", Lifespan: apitoken.Days7})
	require.NoError(t, err)
	clk.Add(6 * 24 * time.Hour)
	soon, soonKey, err := s.svc.Create(ctx, apitoken.CreateParams{Name: "soon", Description: "expires in three days", Lifespan: apitoken.Days7, Type: apitoken.FullAccess})
	require.NoError(t, err)
	clk.Add(4 * 24 * time.Hour) // now, or a moment before
	for i := range 1000 {
		p := apitoken.CreateParams{Name: fmt.Sprintf("bulk %04d", i), Description: "one of a thousand"}
		if i%10 == 0 {
			p.Type, p.Permissions = apitoken.Custom, []string{"api::article.article.find"}
		}
		_, _, err := s.svc.Create(ctx, p)
		require.NoError(t, err)
	}
	_, err = s.svc.Verify(ctx, soonKey)
	require.NoError(t, err)
	require.NoError(t, s.svc.Flush(ctx))

	p := newPage(t)
	p.open(s.url+"/admin/", "#/")
	assert.Equal(t, "1–25 of 1,002 tokens", p.text("list-count"))
	assert.Equal(t, "Page 1 of 41", p.text("page-status"))
	assert.True(t, eval[bool](p, `document.getElementById('page-prev').disabled`))
	assert.Len(t, eval[[]string](p, rowNames), 25)
	p.do(chromedp.Click(chromedp.ID("page-next")))
	p.wait(`document.getElementById('page-status').textContent === 'Page 2 of 41'`)
	assert.Equal(t, "bulk 0025", eval[[]string](p, rowNames)[0])
	p.choose("page-size", "100")
	p.wait(`document.getElementById('page-status').textContent === 'Page 1 of 11'`)
	for range 10 {
		p.do(chromedp.Click(chromedp.ID("page-next")))
	}
	p.wait(`document.getElementById('page-status').textContent === 'Page 11 of 11'`)
	assert.Equal(t, []string{"lapsed", "soon"}, eval[[]string](p, rowNames), "the last page")
	assert.True(t, eval[bool](p, `document.getElementById('page-next').disabled`))

	row := func(id string) string { return fmt.Sprintf(`document.querySelector('#token-rows tr[data-id=%q]')`, id) }
	cellText := func(id, label string) string {
		return eval[string](p, row(id)+`.querySelector('td[data-label="`+label+`"]').textContent`)
	}
	assert.Equal(t, "Read-only", cellText(lapsed.ID, "Type"))
	assert.Equal(t, "Full access", cellText(soon.ID, "Type"))
	assert.Regexp(t, regexp.MustCompile(`^…[0-9a-f]{4}$`), cellText(lapsed.ID, "Key"))
	assert.Equal(t, lapsed.KeyHint, cellText(lapsed.ID, "Key"))
	assert.Regexp(t, `^Expired `, cellText(lapsed.ID, "Expires"))
	assert.Regexp(t, `^expires in 3 days `, cellText(soon.ID, "Expires"))
	assert.Equal(t, "just now", cellText(soon.ID, "Last used"))

	// Search and filters, answered by the server.
	p.do(chromedp.SendKeys(chromedp.ID("search"), "laps"))
	p.wait(`document.getElementById('list-count').textContent === '1–1 of 1 token'`)
	assert.Equal(t, []string{"lapsed"}, eval[[]string](p, rowNames))
	assert.True(t, p.visible("pager") == false, "one page: no pager")
	eval[chromedp.Void](p, `(i => { i.value = ''; i.dispatchEvent(new Event('input')); })(document.getElementById('search'))`)
	p.choose("filter-status", "expired")
	p.wait(`document.getElementById('list-count').textContent === '1–1 of 1 token'`)
	assert.Equal(t, []string{"lapsed"}, eval[[]string](p, rowNames))
	p.choose("filter-status", "expiring")
	p.wait(`document.querySelector('#token-rows th') && document.querySelector('#token-rows th').textContent === 'soon'`)
	assert.Equal(t, []string{"soon"}, eval[[]string](p, rowNames))
	p.choose("filter-status", "")
	p.choose("filter-type", "custom")
	p.wait(`document.getElementById('list-count').textContent === '1–100 of 100 tokens'`)
	p.choose("filter-type", "full-access")
	p.wait(`document.getElementById('list-count').textContent === '1–1 of 1 token'`)
	p.do(chromedp.SendKeys(chromedp.ID("search"), "no such token"))
	p.wait(`!document.getElementById('no-match').hidden`)
	assert.False(t, p.visible("empty"), "a search that finds nothing is not the first-token invitation")
	eval[chromedp.Void](p, `(i => { i.value = ''; i.dispatchEvent(new Event('input')); })(document.getElementById('search'))`)
	p.choose("filter-type", "")
	p.wait(`document.getElementById('list-count').textContent === '1–100 of 1,002 tokens'`)

	// Sorts.
	sortBy := func(field, dir string) {
		t.Helper()
		attr := `(document.querySelector('th[data-sort="` + field + `"]').getAttribute('aria-sort') || '')`
		for range 2 {
			before := eval[string](p, attr)
			if before == dir {
				return
			}
			p.do(chromedp.Click(chromedp.CSS(`button.sort[data-sort="` + field + `"]`)))
			p.wait(attr + ` !== ` + fmt.Sprintf("%q", before)) // the list came back, sorted anew
		}
		require.Equal(t, dir, eval[string](p, attr))
	}
	sortBy("expiresAt", "ascending")
	p.wait(`document.querySelector('#token-rows th').textContent === 'lapsed'`)
	assert.Equal(t, []string{"lapsed", "soon"}, eval[[]string](p, rowNames)[:2], "soonest expiry first")
	sortBy("createdAt", "descending")
	p.wait(`document.querySelector('#token-rows th').textContent === 'bulk 0000'`) // the newest, made at one instant: by name
	sortBy("createdAt", "ascending")
	p.wait(`document.querySelector('#token-rows th').textContent === 'lapsed'`)
	sortBy("lastUsedAt", "descending")
	p.wait(`document.querySelector('#token-rows th').textContent === 'soon'`)
	p.choose("page-size", "10")
	p.wait(`document.getElementById('page-status').textContent === 'Page 1 of 101'`)
	p.screenshot("list-paged.png")

	// Regenerate from the row: the key is shown once, the row's hint follows.
	p.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`#token-rows tr[data-id=%q] button.regenerate`, soon.ID))))
	p.wait(`document.getElementById('regenerate-dialog').open`)
	p.do(chromedp.Click(chromedp.ID("regenerate-confirm")))
	p.wait(`!document.getElementById('key-banner').hidden`)
	fresh := p.text("key-value")
	require.Regexp(t, hexKey, fresh)
	p.wait(fmt.Sprintf(`%s && %s.querySelector('td[data-label="Key"]').textContent === %q`, row(soon.ID), row(soon.ID), "…"+fresh[len(fresh)-4:]))
	assert.Equal(t, "copy-key", eval[string](p, `document.activeElement.id`))
	assert.Equal(t, 401, s.call(t, "GET", "/api/articles", soonKey), "the old key died at once")
	assert.Equal(t, 200, s.call(t, "GET", "/api/articles", fresh))
}
