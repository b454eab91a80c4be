"""manage.py seed --transactions N: bulk-insert N random transactions.

The rows are generated inside PostgreSQL (INSERT ... SELECT FROM
generate_series), in batches of --batch rows, so millions of rows take
seconds rather than the minutes a Python loop would. Accounts and categories
are created when there are none; existing ones (e.g. from `loaddata sample`)
are used as they are.
"""
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from ledger.models import Account, Category

WORDS = (
    "coffee rent salary invoice refund groceries train ticket hotel lunch dinner "
    "office supplies software licence insurance electricity water internet phone "
    "taxi fuel parking books conference fee bank transfer card payment cash "
    "withdrawal subscription hosting consulting deposit interest tax quarterly "
    "monthly annual january february march april may june july august september "
    "october november december"
).split()

DEFAULT_CATEGORIES = ["groceries", "housing", "income", "travel", "utilities", "other"]

INSERT_SQL = """
INSERT INTO ledger_transaction (account_id, category_id, amount, memo, booked_at)
SELECT
    (%(accounts)s::bigint[])[1 + floor(random() * %(n_accounts)s)::int],
    CASE WHEN random() < 0.8
        THEN (%(categories)s::bigint[])[1 + floor(random() * %(n_categories)s)::int] END,
    round((random() * 2500 - 500)::numeric, 2),
    array_to_string(ARRAY(
        SELECT (%(words)s::text[])[1 + floor(random() * %(n_words)s)::int]
        FROM generate_series(1, %(memo_words)s + 0 * g.i)
    ), ' ') || ' #' || substr(md5(random()::text), 1, 8),
    now() - random() * interval '730 days'
FROM generate_series(1, %(rows)s) AS g(i)
"""


class Command(BaseCommand):
    help = "Bulk-insert N random transactions (generated inside PostgreSQL)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--transactions", "-n", type=int, default=1000, help="how many transactions to add (default 1000)"
        )
        parser.add_argument(
            "--memo-words", type=int, default=6, help="random words of memo text per transaction (default 6)"
        )
        parser.add_argument(
            "--accounts", type=int, default=3, help="accounts to create when there are none (default 3)"
        )
        parser.add_argument("--batch", type=int, default=100000, help="rows per INSERT (default 100000)")
        parser.add_argument(
            "--random-seed",
            type=float,
            default=None,
            help="PostgreSQL setseed() value in [-1, 1], for repeatable data",
        )

    def handle(self, *args, **opts):
        total = opts["transactions"]
        if total < 0 or opts["memo_words"] < 0 or opts["accounts"] < 1 or opts["batch"] < 1:
            raise CommandError("--transactions and --memo-words must be >= 0; --accounts and --batch >= 1")
        if connection.vendor != "postgresql":
            raise CommandError(f"seed needs PostgreSQL, not {connection.vendor}")
        if opts["random_seed"] is not None and not -1 <= opts["random_seed"] <= 1:
            raise CommandError("--random-seed must be between -1 and 1")

        self.stderr.style_func = None  # progress, not an error: no colour
        accounts = self._accounts(opts["accounts"])
        categories = self._categories()
        params = {
            "accounts": accounts,
            "n_accounts": len(accounts),
            "categories": categories,
            "n_categories": len(categories),
            "words": WORDS,
            "n_words": len(WORDS),
            "memo_words": opts["memo_words"],
        }
        start = time.monotonic()
        done = 0
        with connection.cursor() as cur:
            if opts["random_seed"] is not None:
                cur.execute("SELECT setseed(%s)", [opts["random_seed"]])
            while done < total:
                rows = min(opts["batch"], total - done)
                with transaction.atomic():
                    cur.execute(INSERT_SQL, dict(params, rows=rows))
                done += rows
                if total > opts["batch"]:
                    self.stderr.write(f"seed: {done}/{total} transactions")
            cur.execute("ANALYZE ledger_transaction")
        elapsed = time.monotonic() - start
        self.stdout.write(f"seeded {done} transactions on {len(accounts)} accounts in {elapsed:.1f}s")

    @staticmethod
    def _accounts(create):
        ids = list(Account.objects.order_by("pk").values_list("pk", flat=True))
        if ids:
            return ids
        currencies = ["EUR", "USD", "GBP"]
        made = Account.objects.bulk_create(
            Account(name=f"Seed account {i + 1}", currency=currencies[i % len(currencies)]) for i in range(create)
        )
        return [a.pk for a in made]

    @staticmethod
    def _categories():
        ids = list(Category.objects.order_by("pk").values_list("pk", flat=True))
        if ids:
            return ids
        made = Category.objects.bulk_create(Category(name=n) for n in DEFAULT_CATEGORIES)
        return [c.pk for c in made]
