from django.urls import path

from ledger import views

urlpatterns = [
    path("", views.balances, name="balances"),
    path("balances/", views.balances),
]
