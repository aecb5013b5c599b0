package sqlq

import "testing"

func TestNumbered(t *testing.T) {
	got := Numbered("SELECT a FROM t WHERE b = ? AND c IN (?, ?) AND d = 'é'")
	if want := "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3) AND d = 'é'"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
