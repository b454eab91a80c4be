"""The ledger: accounts, categories and the transactions booked on them.

Tables (Django's default names, the key tables of compose.yaml's x-ledger):
ledger_account, ledger_category, ledger_transaction.
"""
from django.db import models
from django.utils import timezone


class Account(models.Model):
    name = models.CharField(max_length=100, unique=True)
    currency = models.CharField(max_length=3, default="EUR")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.currency})"


class Category(models.Model):
    name = models.CharField(max_length=50, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self):
        return self.name


class Transaction(models.Model):
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="transactions")
    category = models.ForeignKey(
        Category, on_delete=models.SET_NULL, null=True, blank=True, related_name="transactions"
    )
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    memo = models.TextField(blank=True, default="")
    booked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-booked_at"]
        indexes = [
            models.Index(fields=["account", "booked_at"], name="ledger_txn_account_booked"),
        ]

    def __str__(self):
        return f"{self.booked_at:%Y-%m-%d} {self.account.name} {self.amount}"
