// Package intercepttest holds the docker and docker-compose command lines
// of intercept's parser tests, with the operation intercept.Parse must
// find in each: one table that the wrapper's front test and the
// pre-commit check's script rule run too, so that the three agree.
package intercepttest

// Line is one command line (split on spaces), the environment it is
// parsed with, and the operation Parse must find (intercept.Op's value;
// "" for none).
type Line struct {
	Argv string
	Env  []string
	Op   string
}

// Lines are the command lines.
var Lines = []Line{
	{Argv: "docker ps", Op: ""},
	{Argv: "docker", Op: ""},
	{Argv: "docker --version", Op: ""},
	{Argv: "docker -v volume rm x", Op: ""},
	{Argv: "docker volume rm a b", Op: "volume rm"},
	{Argv: "docker volume remove -f a", Op: "volume rm"},
	{Argv: "docker volume rm a --force b", Op: "volume rm"},
	{Argv: "docker volume rm --help a", Op: ""},
	{Argv: "docker volume rm -- -odd", Op: "volume rm"},
	{Argv: "docker volume ls", Op: ""},
	{Argv: "docker volume prune", Op: "volume prune"},
	{Argv: "docker volume prune -af --filter label=a --filter=label!=b", Op: "volume prune"},
	{Argv: "docker system prune -a", Op: ""},
	{Argv: "docker system prune -af --volumes", Op: "system prune --volumes"},
	{Argv: "docker system prune --volumes=false", Op: ""},
	{Argv: "docker rm x", Op: ""},
	{Argv: "docker rm -fv x y", Op: "rm -v"},
	{Argv: "docker container rm --volumes x", Op: "rm -v"},
	{Argv: "docker container remove -v x", Op: "rm -v"},
	{Argv: "docker -H tcp://h:2375 --config /c -l debug -D volume rm v", Op: "volume rm"},
	{Argv: "docker -cprod volume rm v", Op: "volume rm"},
	{Argv: "docker --context=prod compose down -v", Op: "compose down -v"},
	{Argv: "docker compose down", Op: ""},
	{Argv: "docker compose down -v", Op: "compose down -v"},
	{Argv: "docker compose down --volumes=false", Op: ""},
	{Argv: "docker compose down --volume", Op: "compose down -v"},
	{Argv: "docker compose down -t 5 -v", Op: "compose down -v"},
	{Argv: "docker compose down -vt5", Op: "compose down -v"},
	{Argv: "docker compose down -t5 --rmi all --remove-orphans", Op: ""},
	{Argv: "docker compose --dry-run down -v", Op: ""},
	{Argv: "docker compose -f a.yml -f b.yml -p proj --project-directory d --profile x --env-file e down -v", Op: "compose down -v"},
	{Argv: "docker compose down -v -p late", Op: "compose down -v"},
	{Argv: "docker compose down -v", Env: []string{"COMPOSE_ENV_FILES=a.env,b.env"}, Op: "compose down -v"},
	{Argv: "docker compose rm -sfv", Op: "compose rm -v"},
	{Argv: "docker compose rm -sf", Op: ""},
	{Argv: "docker compose up -d", Op: "compose up"},
	{Argv: "docker compose up -dy", Op: "compose up"},
	{Argv: "docker compose ps", Op: ""},
	{Argv: "docker-compose down -v", Op: "compose down -v"},
	{Argv: "/usr/local/bin/docker-compose -f x.yml down --vol", Op: "compose down -v"},
	{Argv: "docker-compose up -d", Op: "compose up"},
	{Argv: "docker-compose up -d --yes web", Op: "compose up"},
	{Argv: "docker-compose ps", Op: ""},
	{Argv: "docker-compose rm -fsv web", Op: "compose rm -v"},
	{Argv: "docker-compose down --rmi all -t 5", Op: ""},
	{Argv: "docker image prune -af", Op: ""},
	{Argv: "docker network prune -f", Op: ""},
	{Argv: "docker builder prune -af", Op: ""},
	{Argv: "docker container prune -f", Op: ""},
}

// FuzzSeeds are FuzzParse's seeds (split on single spaces, so empty words
// are possible).
var FuzzSeeds = []string{"docker compose -f a.yml down -v", "docker-compose -p x rm -sfv", "docker -cx volume prune -af --filter=label!=a",
	"docker -H= -- rm -v=", "docker-compose --vol", "docker compose -f"}
