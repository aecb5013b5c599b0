package memstore_test

import (
	"testing"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/memstore"
	"github.com/go-apitoken/apitoken/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) apitoken.Store { return memstore.New() })
}
