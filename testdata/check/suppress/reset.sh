#!/bin/sh
# ledger-check: ignore-file destructive-command
docker compose down -v
docker volume prune -f
