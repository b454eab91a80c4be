package apiguard

import "testing"

func TestBulkRoutesAreRoutes(t *testing.T) {
	for k := range bulkRoutes {
		found := false
		for _, r := range routes {
			found = found || r.method+" "+r.pattern == k
		}
		if !found {
			t.Errorf("bulk route %q is not in routes", k)
		}
	}
}
