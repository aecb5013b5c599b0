package apitoken_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/memstore"
)

// BenchmarkSharedRateLimit measures the round trips a shared rate count
// (Config.SharedRates) costs: authorized requests of one rate-limited
// token through the middleware of one or two instances (taking turns) that
// share a counter, the clock moving to the next window whenever one is
// full. It reports the counter's takes (each one round trip to the
// database or Redis) per admitted request, and admitted requests per take.
// The counter is a memstore, so ns/op is the library's own cost.
func BenchmarkSharedRateLimit(b *testing.B) {
	for _, limit := range []int{100, 1000, 10_000} {
		for _, instances := range []int{1, 2} {
			b.Run(fmt.Sprintf("limit=%d/instances=%d", limit, instances), func(b *testing.B) {
				store := memstore.New()
				rates := &countedRates{Store: store}
				clk := apitokentest.NewClock()
				var handlers []http.Handler
				var svc *apitoken.Service
				for range instances {
					svc = apitokentest.New(b, apitoken.Config{Store: store, Salt: testSalt, Clock: clk, Logger: discard(), SharedRates: rates})
					handlers = append(handlers, svc.Authenticated(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
				}
				_, key := mustCreate(b, svc, apitoken.CreateParams{Name: "limited", PolicyParams: apitoken.PolicyParams{
					RateLimit: &apitoken.RateLimit{Requests: limit, Window: apitoken.Duration(time.Minute)}}})
				req := httptest.NewRequest(http.MethodGet, "/", nil)
				req.Header.Set("Authorization", "Bearer "+key)
				admitted, i := 0, 0
				b.ReportAllocs()
				for b.Loop() {
					w := httptest.NewRecorder()
					handlers[i%instances].ServeHTTP(w, req)
					i++
					if w.Code == http.StatusOK {
						admitted++
					} else {
						clk.Add(time.Minute)
					}
				}
				takes := float64(rates.takes.Load())
				b.ReportMetric(takes/float64(max(admitted, 1)), "takes/req")
				b.ReportMetric(float64(admitted)/max(takes, 1), "req/take")
			})
		}
	}
}
