package sqlq

import (
	"database/sql"
	"testing"
	"time"

	"github.com/go-apitoken/apitoken"
)

func TestNumbered(t *testing.T) {
	got := Numbered("SELECT a FROM t WHERE b = ? AND c IN (?, ?) AND d = 'é'")
	if want := "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3) AND d = 'é'"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestLifespan(t *testing.T) {
	if got := LifespanArg(apitoken.Unlimited); got != nil {
		t.Errorf("LifespanArg(Unlimited) = %v, want nil", got)
	}
	if got := LifespanArg(apitoken.Days7); got != int64(604800000) {
		t.Errorf("LifespanArg(Days7) = %v, want 604800000", got)
	}
	if got := Lifespan(sql.NullInt64{}); got != apitoken.Unlimited {
		t.Errorf("Lifespan(NULL) = %v, want Unlimited", got)
	}
	if got := Lifespan(sql.NullInt64{Int64: 1500, Valid: true}); got != apitoken.Duration(1500*time.Millisecond) {
		t.Errorf("Lifespan(1500) = %v, want 1.5s", got)
	}
}
