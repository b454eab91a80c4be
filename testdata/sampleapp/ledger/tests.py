"""Tests of the ledger app: `python3 manage.py test ledger` (needs the db service)."""
import json
from decimal import Decimal
from io import StringIO

from django.core.management import call_command
from django.test import TestCase

from .models import Account, Category, Transaction


class BalancesViewTests(TestCase):
    def test_fixture_balances(self):
        call_command("loaddata", "sample", verbosity=0)
        body = json.loads(self.client.get("/balances/").content)
        self.assertEqual(
            body["accounts"],
            [
                {"name": "Operating", "currency": "EUR", "balance": "2474.51", "transactions": 5},
                {"name": "Savings", "currency": "EUR", "balance": "1012.37", "transactions": 2},
                {"name": "US Sales", "currency": "USD", "balance": "2868.50", "transactions": 3},
            ],
        )

    def test_account_without_transactions(self):
        Account.objects.create(name="Empty", currency="GBP")
        body = json.loads(self.client.get("/").content)
        self.assertEqual(body["accounts"], [{"name": "Empty", "currency": "GBP", "balance": "0.00", "transactions": 0}])


class SeedCommandTests(TestCase):
    def test_seed_creates_accounts_categories_and_rows(self):
        out = StringIO()
        call_command("seed", transactions=2500, batch=1000, memo_words=4, random_seed=0.5, stdout=out, stderr=StringIO())
        self.assertIn("seeded 2500 transactions on 3 accounts", out.getvalue())
        self.assertEqual(Transaction.objects.count(), 2500)
        self.assertEqual(Account.objects.count(), 3)
        self.assertEqual(Category.objects.count(), 6)
        memo = Transaction.objects.first().memo
        words, ref = memo.rsplit(" ", 1)
        self.assertEqual(len(words.split()), 4)
        self.assertRegex(ref, r"^#[0-9a-f]{8}$")
        amounts = Transaction.objects.values_list("amount", flat=True)
        self.assertTrue(all(Decimal("-500") <= a <= Decimal("2000") for a in amounts))

    def test_seed_uses_existing_accounts(self):
        call_command("loaddata", "sample", verbosity=0)
        call_command("seed", transactions=100, stdout=StringIO())
        self.assertEqual(Account.objects.count(), 3)
        self.assertEqual(Category.objects.count(), 4)
        self.assertEqual(Transaction.objects.count(), 110)

    def test_seed_is_repeatable_with_a_random_seed(self):
        call_command("seed", transactions=50, random_seed=0.25, stdout=StringIO())
        first = list(Transaction.objects.order_by("pk").values_list("amount", "memo"))
        Transaction.objects.all().delete()
        call_command("seed", transactions=50, random_seed=0.25, stdout=StringIO())
        again = list(Transaction.objects.order_by("pk").values_list("amount", "memo"))
        self.assertEqual(first, again)
