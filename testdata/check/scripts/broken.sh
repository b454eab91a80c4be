#!/bin/sh
# the shell parser rejects this file (a stray ")"): it is read line by line
echo "docker volume prune"
if [ -n "$FORCE" ]; then
  docker compose down -v )
fi
