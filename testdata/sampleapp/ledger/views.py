"""One tiny view: every account with its balance, as JSON."""
from decimal import Decimal

from django.db.models import Count, Sum
from django.http import JsonResponse

from .models import Account


def balances(request):
    accounts = Account.objects.annotate(
        balance=Sum("transactions__amount"), transactions_count=Count("transactions")
    ).order_by("name")
    return JsonResponse(
        {
            "accounts": [
                {
                    "name": a.name,
                    "currency": a.currency,
                    "balance": str(a.balance if a.balance is not None else Decimal("0.00")),
                    "transactions": a.transactions_count,
                }
                for a in accounts
            ]
        }
    )
