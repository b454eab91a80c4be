// Package e2e holds end-to-end stories that span several binaries, told on
// the real engine with the real Compose v2 plugin.
package e2e

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ledger-docker/ledger-docker/internal/testenv"
)

// balancesURL is the sample app's balances view, seen from inside web.
const balancesURL = "http://127.0.0.1:8000/balances/"

// fetchScript prints the body of the URL in argv[1]; it exits non-zero on
// any HTTP or connection error.
const fetchScript = `import sys, urllib.request
sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())`

type accountBalance struct {
	Name         string `json:"name"`
	Currency     string `json:"currency"`
	Balance      string `json:"balance"`
	Transactions int    `json:"transactions"`
}

// The fixture ledger/fixtures/sample.json: 3 accounts, 4 categories and 10
// transactions, with these balances.
var fixtureBalances = []accountBalance{
	{Name: "Operating", Currency: "EUR", Balance: "2474.51", Transactions: 5},
	{Name: "Savings", Currency: "EUR", Balance: "1012.37", Transactions: 2},
	{Name: "US Sales", Currency: "USD", Balance: "2868.50", Transactions: 3},
}

const fixtureTxns = 10

// seeded is how many random transactions the story adds with `seed`.
const seeded = 5000

// TestSampleApp is the README's quick start as a story: the LedgerFlow
// sample app comes up with Compose v2, migrates, loads its fixture, takes
// seeded transactions, and its balances view agrees with the database.
func TestSampleApp(t *testing.T) {
	p := testenv.SampleApp(t)
	p.Up()
	waitWeb(t, p)

	r := p.Compose("exec", "-T", "web", "python3", "manage.py", "loaddata", "sample")
	if !strings.Contains(r.Stdout, "Installed 17 object(s)") {
		t.Fatalf("loaddata sample: %s", r)
	}
	if got := balances(t, p); !slices.Equal(got, fixtureBalances) {
		t.Fatalf("balances after loaddata = %+v, want %+v", got, fixtureBalances)
	}

	r = p.Compose("exec", "-T", "web", "python3", "manage.py", "seed", "--transactions", strconv.Itoa(seeded), "--random-seed", "0.25")
	if !strings.HasPrefix(r.Stdout, "seeded "+strconv.Itoa(seeded)+" transactions") {
		t.Fatalf("seed: %s", r)
	}
	wantRows := strconv.Itoa(fixtureTxns + seeded)
	if got := p.Psql("db", "SELECT count(*) FROM ledger_transaction"); got != wantRows {
		t.Fatalf("ledger_transaction rows = %s, want %s", got, wantRows)
	}
	got := balances(t, p)
	want := sqlBalances(t, p)
	if !slices.Equal(got, want) {
		t.Fatalf("balances view = %+v\nSQL says        %+v", got, want)
	}
	total := 0
	for _, b := range got {
		total += b.Transactions
	}
	if total != fixtureTxns+seeded {
		t.Errorf("the view counts %d transactions, want %d", total, fixtureTxns+seeded)
	}
}

// waitWeb waits until web answers the balances view, i.e. migrate is done
// and runserver listens. The bound (2 min) only guards a hung test.
func waitWeb(t *testing.T, p *testenv.Project) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		r := p.ComposeNoCheck("exec", "-T", "web", "python3", "-c", fetchScript, balancesURL)
		if r.ExitCode == 0 {
			return
		}
		if time.Now().After(deadline) {
			logs := p.ComposeNoCheck("logs", "--no-color", "--tail", "50", "web")
			t.Fatalf("web does not answer %s: %s\n--- logs:\n%s%s", balancesURL, r, logs.Stdout, logs.Stderr)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// balances asks the app's view, from inside the web container.
func balances(t *testing.T, p *testenv.Project) []accountBalance {
	t.Helper()
	r := p.Compose("exec", "-T", "web", "python3", "-c", fetchScript, balancesURL)
	var body struct {
		Accounts []accountBalance `json:"accounts"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &body); err != nil {
		t.Fatalf("balances view: %v\n%s", err, r.Stdout)
	}
	return body.Accounts
}

// sqlBalances computes the balances with psql in the db service.
func sqlBalances(t *testing.T, p *testenv.Project) []accountBalance {
	t.Helper()
	out := p.Psql("db", `SELECT a.name, a.currency, coalesce(sum(t.amount), 0.00), count(t.id)
		FROM ledger_account a LEFT JOIN ledger_transaction t ON t.account_id = a.id
		GROUP BY a.id ORDER BY a.name`)
	var bs []accountBalance
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(line, "|")
		if len(f) != 4 {
			t.Fatalf("psql balances: unexpected line %q", line)
		}
		b := accountBalance{Name: f[0], Currency: f[1], Balance: f[2]}
		if err := json.Unmarshal([]byte(f[3]), &b.Transactions); err != nil {
			t.Fatalf("psql balances: count %q: %v", f[3], err)
		}
		bs = append(bs, b)
	}
	return bs
}
