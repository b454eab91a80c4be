#!/bin/sh
set -eu
# docker compose down -v        <- a comment: not reported
echo "docker volume prune"      # quoted text: not a command
docker compose down -v
docker compose -f compose.prod.yml -p shop down --volumes --remove-orphans
docker compose down --volumes=false          # not destructive
docker compose down -t 5 --rmi local         # not destructive
docker-compose down -v
sudo -u deploy docker volume prune -f
docker --context prod system prune -af --volumes
docker system prune -af                      # no --volumes: kept
COMPOSE_PROJECT_NAME=shop docker compose \
    --profile all \
    down \
    -v
git pull && docker compose down -vt 5 && docker compose up -d
ledger_docker compose down -v                 # through the wrapper: allowed
ledger_docker volume prune -f
(cd app && docker compose down --volume)
/usr/bin/docker volume prune --filter label=tmp=1
DC="docker compose -f compose.prod.yml"
$DC down -v
${DC} down
reset() {
  docker volume rm "$1"
}
ssh deploy@prod <<'EOF2'
cd /srv/shop && docker compose down -v
EOF2
cat <<EOF2 >notes.txt
never run docker compose down -v here
EOF2
sh -c 'docker volume prune -f'
echo "docker compose down -v is not run"
docker compose $COMPOSE_FLAGS down -v
