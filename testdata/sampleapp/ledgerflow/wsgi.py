"""WSGI entry point of the LedgerFlow sample app."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ledgerflow.settings")

application = get_wsgi_application()
