package apitoken_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"time"

	"golang.org/x/time/rate"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/memstore"
)

// The README's quickstart: protect a collection type's routes and a custom
// route, issue a read-only token, and use it.
func Example() {
	ctx := context.Background()
	cfg := apitoken.Config{
		Store: memstore.New(),
		Salt:  "change-me-to-a-random-secret", // or leave empty to use API_TOKEN_SALT
	}
	// Refuse to start with a salt that did not make the stored tokens:
	// a lost or mistyped salt would refuse every key.
	if err := apitoken.CheckSalt(ctx, cfg); err != nil {
		log.Fatal(err)
	}
	svc, err := apitoken.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer svc.Close(ctx)

	mux := http.NewServeMux()
	articles := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := apitoken.FromContext(r.Context())
		fmt.Fprintf(w, "articles for %s", tok.Name)
	})
	svc.HandleCollection(mux, "/api/articles", "api::article.article", apitoken.Collection{
		Find: articles, FindOne: articles, Create: articles, Update: articles, Delete: articles,
	})
	mux.Handle("POST /api/reports", svc.Require("api::report.report.generate")(articles))

	_, key, err := svc.Create(ctx, apitoken.CreateParams{
		Name: "dashboard", Type: apitoken.ReadOnly, Lifespan: apitoken.Days30,
	})
	if err != nil {
		log.Fatal(err)
	}

	for _, method := range []string{"GET", "POST"} {
		req := httptest.NewRequest(method, "/api/articles", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		fmt.Println(method, rec.Code, rec.Body.String())
	}
	// Output:
	// GET 200 articles for dashboard
	// POST 403 {"data":null,"error":{"status":403,"name":"ForbiddenError","message":"Forbidden","details":{}}}
}

// A custom token may call exactly the actions it lists.
func ExampleService_Create_custom() {
	svc, err := apitoken.New(apitoken.Config{Store: memstore.New(), Salt: "change-me-to-a-random-secret"})
	if err != nil {
		log.Fatal(err)
	}
	defer svc.Close(context.Background())
	// Routes register their actions (see HandleCollection); custom tokens
	// may be granted only registered ones.
	svc.Actions().Register("api::article.article.create", "api::article.article.find", "api::article.article.delete")

	tok, _, err := svc.Create(context.Background(), apitoken.CreateParams{
		Name:        "importer",
		Type:        apitoken.Custom,
		Permissions: []string{"api::article.article.create", "api::article.article.find"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.Allows("api::article.article.create"), tok.Allows("api::article.article.delete"))
	// Output: true false
}

// GraphQL resolvers and other non-HTTP code ask the token in the context.
func ExampleCan() {
	resolveDeleteArticle := func(ctx context.Context) error {
		if err := apitoken.Can(ctx, "api::article.article.delete"); err != nil {
			return err // ErrForbidden: answer FORBIDDEN
		}
		return nil
	}
	ctx := apitoken.NewContext(context.Background(), &apitoken.Token{Type: apitoken.ReadOnly})
	fmt.Println(resolveDeleteArticle(ctx))
	// Output: apitoken: forbidden
}

// Behind a reverse proxy every request comes from the proxy, so the failure
// limit would count all clients as one. Name your proxies: the client is
// then the last X-Forwarded-For address that none of them added (those
// before it are whatever the client sent), and the failure limit, allowed
// networks and audit events all use it.
func ExampleConfig_trustedProxies() {
	svc, err := apitoken.New(apitoken.Config{
		Store:          memstore.New(),
		Salt:           "change-me-to-a-random-secret",
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, // where your proxies are
		FailureLimit:   &apitoken.FailureLimit{Rate: rate.Every(time.Minute)},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer svc.Close(context.Background())

	for _, c := range []struct{ remote, forwarded string }{
		{"10.0.0.2:5000", "203.0.113.7"},
		{"10.0.0.2:5000", "192.0.2.1, 198.51.100.9"}, // the client claimed 192.0.2.1
		{"10.0.0.2:5000", "198.51.100.9, 10.0.0.5"},  // through two of your proxies
		{"203.0.113.50:5000", "192.0.2.1"},           // not through a proxy
	} {
		r := httptest.NewRequest("GET", "/api/articles", nil)
		r.RemoteAddr = c.remote
		r.Header.Set("X-Forwarded-For", c.forwarded)
		fmt.Println(svc.ClientName(r))
	}
	// Output:
	// 203.0.113.7
	// 198.51.100.9
	// 198.51.100.9
	// 203.0.113.50
}

func ExampleService_Create_policy() {
	ctx := context.Background()
	svc, err := apitoken.New(apitoken.Config{Store: memstore.New(), Salt: "change-me-to-a-random-secret"})
	if err != nil {
		log.Fatal(err)
	}
	defer svc.Close(ctx)

	enable := false
	tok, key, err := svc.Create(ctx, apitoken.CreateParams{Name: "partner", PolicyParams: apitoken.PolicyParams{
		Disabled:   &enable,
		AllowedIPs: []string{"203.0.113.0/24"},                                                 // 403 from elsewhere
		RateLimit:  &apitoken.RateLimit{Requests: 100, Window: apitoken.Duration(time.Minute)}, // 429 + RateLimit headers
		Quota:      &apitoken.Quota{Limit: 10_000, Refill: apitoken.Monthly},                   // 429 when spent
	}})
	if err != nil {
		log.Fatal(err)
	}
	_ = key
	fmt.Println(tok.AllowedIPs, tok.RateLimit.Requests, tok.Quota.Remaining)
	// Output: [203.0.113.0/24] 100 10000
}
