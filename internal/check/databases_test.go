package check

import (
	"testing"

	"github.com/ledger-docker/ledger-docker/internal/config"
)

const (
	anonEnd = `: the data lives in an anonymous volume that down -v, rm -v or a recreate lose; mount a named, ` +
		`protected volume at `
	containerEnd = `: the data lives in the container, which rm or a recreate lose; mount a named, protected volume at `
	dbRule       = ` [database-data-not-persisted]`
	protected    = "    labels:\n      com.ledgerflow.protect: \"true\"\n"
)

// pgFile is a compose file whose service db runs image with the protected
// volume pgdata at target (line 5, column 9), then more.
func pgFile(image, target, more string) map[string]string {
	return composeFile("services:\n  db:\n    image: " + image + "\n    volumes:\n      - pgdata:" + target +
		"\nvolumes:\n  pgdata:\n" + protected + more)
}

// notMounted is the finding of a database service that mounts nothing on
// its data directory: anon says whether the image's VOLUME holds it.
func notMounted(pos, service, kind, dir string, anon bool, mountAt string) string {
	end := containerEnd
	if anon {
		end = anonEnd
	}
	return pos + `: error: service "` + service + `" (` + kind + `) does not mount its data directory ` + dir + end +
		mountAt + dbRule
}

// oldFolder is the finding of a PostgreSQL 18 or later service (image
// described by desc) with its volume at pos on /var/lib/postgresql/data.
func oldFolder(pos, service, source, desc string) string {
	return pos + `: error: service "` + service + `" (postgres) mounts ` + source + ` at /var/lib/postgresql/data, ` +
		`the data directory of postgres 17 and earlier; ` + desc + ` keeps its data directory ` +
		`/var/lib/postgresql/18/docker under VOLUME /var/lib/postgresql: the data goes to an anonymous volume ` +
		`there, which down -v, rm -v or a recreate lose (current images refuse to initialise a database while a ` +
		`mount sits at /var/lib/postgresql/data); mount it at /var/lib/postgresql instead, or set PGDATA to ` +
		`/var/lib/postgresql/data` + dbRule
}

// latestPG describes an image reference whose tag names no version.
func latestPG(image string) string {
	return `the image ` + image + ` names no version, so it is the latest (18 and later), which`
}

// snapshotsEnd ends a redis-data-not-persisted finding.
func snapshotsEnd(what, off string) string {
	return ` (` + what + `; for a cache, turn them off with ` + off + ` "" or say so with # ledger-check: ignore ` +
		`redis-data-not-persisted) [redis-data-not-persisted]`
}

// TestDatabaseRule: where a database service's data goes, for the images
// the check knows, the ones a project or a user adds, and services that
// use a database image without being the database.
func TestDatabaseRule(t *testing.T) {
	runCases(t, []ruleCase{
		{name: "postgres 16 with its volume on the parent folder", files: pgFile("postgres:16", "/var/lib/postgresql", ""),
			want: []string{`5:9: error: service "db" (postgres) mounts volume "pgdata" at /var/lib/postgresql, ` +
				`a parent of its data directory /var/lib/postgresql/data: the image declares VOLUME /var/lib/postgresql/data, ` +
				`so the data goes to an anonymous volume there, which down -v, rm -v or a recreate lose; mount it at ` +
				`/var/lib/postgresql/data instead` + dbRule}},
		{name: "postgres 18 at /var/lib/postgresql, as its image expects", files: pgFile("postgres:18-alpine", "/var/lib/postgresql", "")},
		{name: "postgres 18 at the folder of earlier versions", files: pgFile("postgres:18", "/var/lib/postgresql/data", ""),
			want: []string{oldFolder("5:9", "db", `volume "pgdata"`, "the image postgres:18")}},
		{name: "postgres without a version at the folder of 17 and earlier, and at /var/lib/postgresql", files: composeFile(`services:
  old:
    image: postgres
    volumes:
      - pgold:/var/lib/postgresql/data
  new:
    image: postgres:alpine
    volumes:
      - pgnew:/var/lib/postgresql
volumes:
  pgold:
` + protected + `  pgnew:
` + protected), want: []string{oldFolder("5:9", "old", `volume "pgold"`, latestPG("postgres"))}},
		{name: "postgres latest, a variant without a version and 18-alpine at the folder of 17 and earlier", files: composeFile(`services:
  latest:
    image: docker.io/library/postgres:latest
    volumes:
      - pgdata:/var/lib/postgresql/data
  bookworm:
    image: postgres:bookworm
    volumes:
      - type: bind
        source: ./pg
        target: /var/lib/postgresql/data
  pinned:
    image: postgres:18-alpine
    volumes:
      - pgdata:/var/lib/postgresql/data:rw
volumes:
  pgdata:
` + protected), want: []string{
			oldFolder("5:9", "latest", `volume "pgdata"`, latestPG("docker.io/library/postgres:latest")),
			oldFolder("9:9", "bookworm", "pg", latestPG("postgres:bookworm")),
			oldFolder("15:9", "pinned", `volume "pgdata"`, "the image postgres:18-alpine"),
		}},
		{name: "postgis without a version at the folder of 17 and earlier", files: pgFile("postgis/postgis", "/var/lib/postgresql/data", ""),
			want: []string{oldFolder("5:9", "db", `volume "pgdata"`, latestPG("postgis/postgis"))}},
		{name: "postgres without a version, PGDATA set to the mounted folder of 17 and earlier", files: composeFile(`services:
  db:
    image: postgres
    environment:
      PGDATA: /var/lib/postgresql/data
    volumes:
      - pgdata:/var/lib/postgresql/data
volumes:
  pgdata:
` + protected)},
		{name: "postgres without a version, PGDATA moved elsewhere than the mount", files: composeFile(`services:
  db:
    image: postgres
    environment:
      PGDATA: /srv/pgdata
    volumes:
      - pgdata:/var/lib/postgresql/data
volumes:
  pgdata:
` + protected), want: []string{notMounted("2:3", "db", "postgres", "/srv/pgdata", false, "/srv/pgdata")}},
		{name: "postgres 17 and earlier keep the old folder", files: composeFile(`services:
  pg17:
    image: postgres:17.6-bookworm
    volumes:
      - pg17:/var/lib/postgresql/data
  pg13:
    image: postgis/postgis:13-3.5-alpine
    volumes:
      - pg13:/var/lib/postgresql/data
volumes:
  pg17:
` + protected + `  pg13:
` + protected)},
		{name: "timescaledb and pgvector without a PostgreSQL version at either folder", files: composeFile(`services:
  tsdb:
    image: timescale/timescaledb:latest
    volumes:
      - tsdata:/var/lib/postgresql/data
  vec:
    image: pgvector/pgvector
    volumes:
      - vecdata:/var/lib/postgresql
volumes:
  tsdata:
` + protected + `  vecdata:
` + protected)},
		{name: "postgres pinned by a digest alone at the folder of 17 and earlier",
			files: pgFile("postgres@sha256:4a1ae6c6fcbd4b8a2c5c2e9a0b8b0e1d4b5e0c8f1f5a7b0c9d3e2f1a0b9c8d7e6", "/var/lib/postgresql/data", "")},
		{name: "postgres tagged by a variable the environment leaves unset, at the folder of 17 and earlier",
			files: pgFile("postgres:${PG_VERSION:?set it}", "/var/lib/postgresql/data", "")},
		{name: "postgres tagged by an unset variable and a variant, at the folder of 17 and earlier",
			files: pgFile("postgres:${PG_VERSION}-alpine", "/var/lib/postgresql/data", "")},
		{name: "postgres tagged by a variable set to 18, at the folder of 17 and earlier",
			files: pgFile("postgres:${PG_VERSION}", "/var/lib/postgresql/data", ""), env: []string{"PG_VERSION=18"},
			want: []string{oldFolder("5:9", "db", `volume "pgdata"`, "the image postgres:18")}},
		{name: "a postgres 18 beta at the folder of earlier versions", files: pgFile("postgres:18beta3", "/var/lib/postgresql/data", ""),
			want: []string{oldFolder("5:9", "db", `volume "pgdata"`, "the image postgres:18beta3")}},
		{name: "postgres without a version with nothing mounted", files: composeFile(`services:
  db:
    image: postgres
`), want: []string{notMounted("2:3", "db", "postgres", "/var/lib/postgresql/18/docker", true, "/var/lib/postgresql")}},
		{name: "postgres built from a Dockerfile without a version, at the folder of 17 and earlier", files: map[string]string{
			"Dockerfile": "FROM postgres\nCOPY init.sql /docker-entrypoint-initdb.d/\n",
			"compose.yaml": `services:
  db:
    build: .
    volumes:
      - pgdata:/var/lib/postgresql/data
volumes:
  pgdata:
` + protected}, want: []string{oldFolder("5:9", "db", `volume "pgdata"`, latestPG("postgres"))}},
		{name: "influxdb 2 with its volume at the folder of influxdb 1", files: composeFile(`services:
  influx:
    image: influxdb:2.7
    volumes:
      - influx:/var/lib/influxdb
volumes:
  influx:
` + protected), want: []string{`5:9: error: service "influx" (influxdb) mounts volume "influx" at /var/lib/influxdb, ` +
			`the data directory of influxdb 1 and earlier; the image influxdb:2.7 keeps its data directory ` +
			`/var/lib/influxdb2 under VOLUME /var/lib/influxdb2: the data goes to an anonymous volume there, which ` +
			`down -v, rm -v or a recreate lose; mount it at /var/lib/influxdb2 instead` + dbRule}},
		{name: "timescaledb and pgvector tags name the PostgreSQL version", files: composeFile(`services:
  tsdb:
    image: timescale/timescaledb:2.17.2-pg17
    volumes:
      - tsdata:/var/lib/postgresql
  vec:
    image: pgvector/pgvector:pg18
    volumes:
      - vecdata:/var/lib/postgresql
volumes:
  tsdata:
` + protected + `  vecdata:
` + protected), want: []string{`5:9: error: service "tsdb" (postgres) mounts volume "tsdata" at /var/lib/postgresql, a ` +
			`parent of its data directory /var/lib/postgresql/data: the image declares VOLUME /var/lib/postgresql/data, ` +
			`so the data goes to an anonymous volume there, which down -v, rm -v or a recreate lose; mount it at ` +
			`/var/lib/postgresql/data instead` + dbRule}},
		{name: "mongo with its volume at /data", files: composeFile(`services:
  mongo:
    image: mongo:8
    volumes:
      - mongodata:/data
volumes:
  mongodata:
` + protected), want: []string{`5:9: error: service "mongo" (mongo) mounts volume "mongodata" at /data, a parent of ` +
			`its data directory /data/db: the image declares VOLUME /data/db, so the data goes to an anonymous volume ` +
			`there, which down -v, rm -v or a recreate lose; mount it at /data/db instead` + dbRule}},
		{name: "kafka and zookeeper with no volume", files: composeFile(`services:
  kafka:
    image: confluentinc/cp-kafka:7.7.1
  zookeeper:
    image: zookeeper:3.9
  broker:
    image: apache/kafka:3.9.0
`), want: []string{
			notMounted("2:3", "kafka", "kafka", "/var/lib/kafka/data", true, "/var/lib/kafka/data"),
			notMounted("4:3", "zookeeper", "zookeeper", "/data", true, "/data"),
			notMounted("6:3", "broker", "kafka", "/tmp/kraft-combined-logs", false, "/tmp/kraft-combined-logs")}},
		{name: "a bind mount of a parent folder", files: composeFile(`services:
  mysql:
    image: mysql:8.4
    volumes:
      - ./state:/var/lib
`), want: []string{`5:9: error: service "mysql" (mysql) mounts state at /var/lib, a parent of its data directory ` +
			`/var/lib/mysql: the image declares VOLUME /var/lib/mysql, so the data goes to an anonymous volume there, ` +
			`which down -v, rm -v or a recreate lose; mount it at /var/lib/mysql instead` + dbRule}},
		{name: "PGDATA below a mounted folder", files: composeFile(`services:
  db:
    image: postgres:16
    environment:
      PGDATA: /var/lib/postgresql/data/pgdata
    volumes:
      - pgdata:/var/lib/postgresql/data
volumes:
  pgdata:
` + protected)},
		{name: "mysql with --datadir on a mounted folder", files: composeFile(`services:
  mysql:
    image: mysql:8.4
    command: ["--datadir=/srv/mysql", "--character-set-server=utf8mb4"]
    volumes:
      - mysqldata:/srv/mysql
volumes:
  mysqldata:
` + protected)},
		{name: "mariadb with --datadir on an unmounted folder", files: composeFile(`services:
  maria:
    image: mariadb:11
    command: mariadbd --datadir /srv/maria
`), want: []string{notMounted("2:3", "maria", "mariadb", "/srv/maria", false, "/srv/maria")}},
		{name: "the postgres image running pg_dump", files: composeFile(`services:
  backup:
    image: postgres:16
    command: pg_dump -h db -U postgres -f /backups/ledger.sql ledger
    volumes:
      - ./backups:/backups
`)},
		{name: "the postgres image running a backup loop in sh -c", files: composeFile(`services:
  backup:
    image: postgres:16-alpine
    entrypoint: ["/bin/sh", "-ec"]
    command:
      - |
        while true; do
          PGPASSWORD="$$PW" pg_dump -h db -U postgres ledger | gzip > "/backups/$$(date +%F).sql.gz"
          sleep 86400
        done
    volumes:
      - ./backups:/backups
`)},
		{name: "the mysql image running mysqldump as its entrypoint", files: composeFile(`services:
  dump:
    image: mysql:8.4
    entrypoint: mysqldump
    command: ["-h", "mysql", "--all-databases", "--result-file=/out/all.sql"]
  migrate:
    image: mongo:8
    command: ["mongorestore", "--uri", "mongodb://mongo", "/dump"]
`)},
		{name: "a shell script that starts the server is the database", files: composeFile(`services:
  db:
    image: postgres:16
    command: ["sh", "-c", "psql --version && exec docker-entrypoint.sh postgres -c max_connections=50"]
`), want: []string{notMounted("2:3", "db", "postgres", "/var/lib/postgresql/data", true, "/var/lib/postgresql/data")}},
		{name: "server flags in the command are the database", files: composeFile(`services:
  db:
    image: postgres:17
    command: ["-c", "shared_buffers=256MB"]
`), want: []string{notMounted("2:3", "db", "postgres", "/var/lib/postgresql/data", true, "/var/lib/postgresql/data")}},
		{name: "volumes_from a data container with a named volume", files: composeFile(`services:
  dbdata:
    image: busybox
    volumes:
      - pgdata:/var/lib/postgresql/data
  db:
    image: postgres:16
    volumes_from:
      - dbdata
volumes:
  pgdata:
` + protected)},
		{name: "volumes_from a data container with an anonymous volume", files: composeFile(`services:
  dbdata:
    image: busybox
    volumes:
      - /var/lib/postgresql/data
  db:
    image: postgres:16
    volumes_from:
      - service:dbdata:rw
`), want: []string{`9:9: error: service "db" (postgres) keeps its data directory /var/lib/postgresql/data in an ` +
			`anonymous volume at /var/lib/postgresql/data of service "dbdata" (volumes_from): down -v, rm -v or volume ` +
			`prune delete it; mount a named, protected volume at /var/lib/postgresql/data` + dbRule}},
		{name: "volumes_from a container outside the project", files: composeFile(`services:
  db:
    image: postgres:16
    volumes_from:
      - container:legacy-pgdata
`)},
		{name: "database images beyond PostgreSQL, MySQL, MongoDB and Redis, nothing mounted", files: composeFile(`services:
  cassandra:
    image: cassandra:5
  clickhouse:
    image: clickhouse/clickhouse-server:24.8
  couchdb:
    image: couchdb:3
  elastic:
    image: docker.elastic.co/elasticsearch/elasticsearch:8.15.0
  etcd:
    image: quay.io/coreos/etcd:v3.5.15
    command: ["etcd", "--data-dir=/etcd-data"]
  influx1:
    image: influxdb:1.8
  influx2:
    image: influxdb:2.7
  influx3:
    image: influxdb:3-core
  minio:
    image: quay.io/minio/minio:RELEASE.2024-10-13T13-34-11Z
    command: server /data --console-address ":9001"
  mssql:
    image: mcr.microsoft.com/mssql/server:2022-latest
  neo4j:
    image: neo4j:5
  opensearch:
    image: opensearchproject/opensearch:2
  rabbitmq:
    image: rabbitmq:3-management
  scylla:
    image: scylladb/scylla:6.1
  sqledge:
    image: mcr.microsoft.com/azure-sql-edge
`), want: []string{
			notMounted("2:3", "cassandra", "cassandra", "/var/lib/cassandra", true, "/var/lib/cassandra"),
			notMounted("4:3", "clickhouse", "clickhouse", "/var/lib/clickhouse", true, "/var/lib/clickhouse"),
			notMounted("6:3", "couchdb", "couchdb", "/opt/couchdb/data", true, "/opt/couchdb/data"),
			notMounted("8:3", "elastic", "elasticsearch", "/usr/share/elasticsearch/data", false, "/usr/share/elasticsearch/data"),
			notMounted("10:3", "etcd", "etcd", "/etcd-data", false, "/etcd-data"),
			notMounted("13:3", "influx1", "influxdb", "/var/lib/influxdb", true, "/var/lib/influxdb"),
			notMounted("15:3", "influx2", "influxdb", "/var/lib/influxdb2", true, "/var/lib/influxdb2"),
			notMounted("17:3", "influx3", "influxdb", "/home/influxdb3/.influxdb3", false, "/home/influxdb3/.influxdb3"),
			notMounted("19:3", "minio", "minio", "/data", true, "/data"),
			notMounted("22:3", "mssql", "sqlserver", "/var/opt/mssql", false, "/var/opt/mssql"),
			notMounted("24:3", "neo4j", "neo4j", "/data", true, "/data"),
			notMounted("26:3", "opensearch", "opensearch", "/usr/share/opensearch/data", false, "/usr/share/opensearch/data"),
			notMounted("28:3", "rabbitmq", "rabbitmq", "/var/lib/rabbitmq", true, "/var/lib/rabbitmq"),
			notMounted("30:3", "scylla", "scylladb", "/var/lib/scylla", true, "/var/lib/scylla"),
			notMounted("32:3", "sqledge", "sqlserver", "/var/opt/mssql", false, "/var/opt/mssql"),
		}},
		{name: "database images beyond PostgreSQL, MySQL, MongoDB and Redis, each mounted right", files: composeFile(`services:
  cassandra:
    image: cassandra:5
    volumes: [./d/cassandra:/var/lib/cassandra]
  clickhouse:
    image: clickhouse/clickhouse-server:24.8
    volumes: [./d/ch:/var/lib/clickhouse]
  elastic:
    image: docker.elastic.co/elasticsearch/elasticsearch:8.15.0
    volumes: [./d/es:/usr/share/elasticsearch/data]
  influx3:
    image: influxdb:3-core
    command: ["influxdb3", "serve", "--node-id=n0", "--object-store=file", "--data-dir=/var/lib/influxdb3/data"]
    volumes: [./d/influx:/var/lib/influxdb3]
  minio:
    image: minio/minio
    command: server /export{1...4}
    volumes: [./d/minio:/export]
  mssql:
    image: mcr.microsoft.com/mssql/server:2022-latest
    volumes: [./d/mssql:/var/opt/mssql]
  neo4j:
    image: neo4j:5
    environment:
      NEO4J_server_directories_data: /graph
    volumes: [./d/neo4j:/graph]
  rabbitmq:
    image: rabbitmq:4
    volumes: [./d/rabbit:/var/lib/rabbitmq]
  rabbitmnesia:
    image: rabbitmq:3.13-management
    volumes: [./d/mnesia:/var/lib/rabbitmq/mnesia]
`)},
		{name: "a database under a profile that is not selected", files: composeFile(`services:
  app:
    image: example/app:1
  db:
    image: postgres:16
    profiles: [with-db]
`), want: []string{notMounted("4:3", "db", "postgres", "/var/lib/postgresql/data", true, "/var/lib/postgresql/data")}},
		{name: "a database built here from postgres, with an image name too", files: map[string]string{
			"db/Dockerfile": "FROM postgres:16-alpine\nCOPY init.sql /docker-entrypoint-initdb.d/\n",
			"compose.yaml": `services:
  db:
    build: ./db
    image: registry.example.com/team/ledger-db:1.4
    environment:
      POSTGRES_PASSWORD: example
`}, want: []string{notMounted("2:3", "db", "postgres", "/var/lib/postgresql/data", true, "/var/lib/postgresql/data")}},
		{name: "a database built from a multi-stage Dockerfile with a build arg", files: map[string]string{
			"Dockerfile.db": "ARG PG=17\nFROM --platform=$BUILDPLATFORM postgres:${PG} AS base\nRUN true\nFROM base\n",
			"compose.yaml": `services:
  db:
    build:
      context: .
      dockerfile: Dockerfile.db
      args:
        PG: "18"
    image: ledger-db
    volumes:
      - pgdata:/var/lib/postgresql/data
volumes:
  pgdata:
` + protected}, want: []string{oldFolder("10:9", "db", `volume "pgdata"`, "the image postgres:18")}},
		{name: "an app built here with POSTGRES_* variables", files: map[string]string{
			"Dockerfile": "FROM python:3.12-slim\n",
			"compose.yaml": `services:
  web:
    build: .
    image: ledgerflow-web:dev
    environment:
      POSTGRES_DB: ledger
      POSTGRES_USER: ledger
      POSTGRES_PASSWORD: secret
`}},
		{name: "a database built from a remote context, known by its environment", files: composeFile(`services:
  db:
    build: https://github.com/example/ledger-db.git#main
    image: ledger-db
    environment:
      POSTGRES_PASSWORD: example
  app:
    build: https://github.com/example/ledger-app.git
    environment:
      POSTGRES_PASSWORD: example
      DB_HOST: db
`), want: []string{notMounted("2:3", "db", "postgres", "/var/lib/postgresql/18/docker", true, "/var/lib/postgresql")}},
		{name: "a database built from a remote context, known by its image name", files: composeFile(`services:
  db:
    build: https://github.com/example/ledger-db.git#main
    image: registry.example.com/team/postgres:16
`), want: []string{notMounted("2:3", "db", "postgres", "/var/lib/postgresql/data", true, "/var/lib/postgresql/data")}},
		{name: "an image the project's x-ledger adds", files: composeFile(`services:
  ledger:
    image: registry.example.com/team/ledger-db:3
    volumes:
      - /var/lib/ledger
x-ledger:
  database_images:
    - image: registry.example.com/team/ledger-db
      kind: ledgerdb
      data: /var/lib/ledger
`), want: []string{`5:9: error: service "ledger" (ledgerdb) keeps its data directory /var/lib/ledger in an anonymous ` +
			`volume at /var/lib/ledger: down -v, rm -v or volume prune delete it; mount a named, protected volume at ` +
			`/var/lib/ledger` + dbRule}},
		{name: "an image the user configuration adds, with its VOLUME and flag",
			conf: []config.DatabaseImage{{Image: "team/tsdb", Data: "/var/lib/tsdb", Volumes: []string{"/var/lib/tsdb"}, Flags: []string{"--storage"}}},
			files: composeFile(`services:
  metrics:
    image: team/tsdb:2
    command: ["--storage", "/srv/tsdb/data"]
    volumes:
      - ./tsdb:/srv
  events:
    image: ghcr.io/team/tsdb
    volumes:
      - ./events:/var/lib
`), want: []string{
				`10:9: error: service "events" (tsdb) mounts events at /var/lib, a parent of its data directory /var/lib/tsdb: ` +
					`the image declares VOLUME /var/lib/tsdb, so the data goes to an anonymous volume there, which down -v, ` +
					`rm -v or a recreate lose; mount it at /var/lib/tsdb instead` + dbRule,
			}},
		{name: "an x-ledger database image without a data directory", files: composeFile(`services:
  ledger:
    image: team/ledger-db
x-ledger:
  database_images:
    - image: team/ledger-db
`), want: []string{`5:3: error: x-ledger.database_images: image "team/ledger-db": no data (its data directory, an ` +
			`absolute path in the container): configuration error [compose-parse-error]`}},
		{name: "an unknown x-ledger key", files: pgFile("postgres:16", "/var/lib/postgresql/data", "x-ledger:\n  min_sise: 10KB\n"),
			want: []string{`11:3: error: x-ledger: unknown key "min_sise" (the keys are backup_dir, compression_level, ` +
				`database, database_images, freshness, key_tables, min_size, verify): configuration error [compose-parse-error]`}},
		{name: "an x-ledger database image without a data directory, in a later YAML document",
			files: pgFile("postgres:16", "/var/lib/postgresql/data", "---\nx-ledger:\n  database_images:\n    - image: team/ledger-db\n"),
			want: []string{`12:3: error: x-ledger.database_images: image "team/ledger-db": no data (its data directory, ` +
				`an absolute path in the container): configuration error [compose-parse-error]`}},
		{name: "a bad x-ledger value, at its key", files: composeFile("services:\n  web:\n    image: nginx\nx-ledger:\n" +
			"  backup_dir: backups\n  verify: fulll\n"),
			want: []string{`6:3: error: x-ledger.verify: verify "fulll": want full or quick: configuration error [compose-parse-error]`}},
		{name: "one name where x-ledger's list of key tables belongs, at its key", files: composeFile(
			"services:\n  web:\n    image: nginx\nx-ledger:\n  key_tables: transactions\n"),
			want: []string{`5:3: error: x-ledger.key_tables: must be a list, not "transactions": configuration error [compose-parse-error]`}},
		{name: "redis with the image's default snapshots", files: composeFile(`services:
  sessions:
    image: redis:7
`), want: []string{`2:3: warning: service "sessions" (redis) does not mount its data directory /data` + anonEnd +
			`/data (Redis saves snapshots there by default; for a cache, turn them off with --save "" or say so with ` +
			`# ledger-check: ignore redis-data-not-persisted) [redis-data-not-persisted]`}},
		{name: "redis as a cache with snapshots off", files: composeFile(`services:
  cache:
    image: valkey/valkey:8
    command: ["valkey-server", "--save", "", "--maxmemory-policy", "allkeys-lru"]
  cache2:
    image: redis:7
    command: redis-server --save ""
`)},
		{name: "keydb and dragonfly with their default snapshots", files: composeFile(`services:
  keydb:
    image: eqalpha/keydb:x86_64_v6.3.4
  dragonfly:
    image: docker.dragonflydb.io/dragonflydb/dragonfly:v1.25.1
  hub:
    image: dragonflydb/dragonfly
    command: ["dragonfly", "--logtostderr", "--maxmemory=2gb"]
`), want: []string{
			`2:3: warning: service "keydb" (keydb) does not mount its data directory /data` + anonEnd + `/data` +
				snapshotsEnd("KeyDB saves snapshots there by default", "--save"),
			`4:3: warning: service "dragonfly" (dragonfly) does not mount its data directory /data` + anonEnd + `/data` +
				snapshotsEnd("Dragonfly saves snapshots there when it stops, by default", "--dbfilename"),
			`6:3: warning: service "hub" (dragonfly) does not mount its data directory /data` + anonEnd + `/data` +
				snapshotsEnd("Dragonfly saves snapshots there when it stops, by default", "--dbfilename"),
		}},
		{name: "keydb and dragonfly as caches, snapshots off", files: composeFile(`services:
  keydb:
    image: eqalpha/keydb
    command: ["keydb-server", "/etc/keydb/keydb.conf", "--save", ""]
  dragonfly:
    image: docker.dragonflydb.io/dragonflydb/dragonfly
    command: ["dragonfly", "--dbfilename="]
  dragonfly2:
    image: ghcr.io/dragonflydb/dragonfly:v1.25.1
    command: dragonfly --cache_mode --dbfilename ""
`)},
		{name: "a dragonfly cache marked ignore redis-data-not-persisted", files: composeFile(`services:
  cache: # ledger-check: ignore redis-data-not-persisted
    image: docker.dragonflydb.io/dragonflydb/dragonfly
`)},
		{name: "keydb and dragonfly that keep their data, nothing mounted", files: composeFile(`services:
  keydb:
    image: eqalpha/keydb
    command: ["keydb-server", "/etc/keydb/keydb.conf", "--appendonly", "yes"]
  dragonfly:
    image: docker.dragonflydb.io/dragonflydb/dragonfly
    command: ["dragonfly", "--snapshot_cron=*/5 * * * *"]
`), want: []string{
			notMounted("2:3", "keydb", "keydb", "/data", true, "/data"),
			notMounted("5:3", "dragonfly", "dragonfly", "/data", true, "/data"),
		}},
		{name: "keydb and dragonfly with protected volumes, one moved by --dir", files: composeFile(`services:
  keydb:
    image: eqalpha/keydb
    volumes:
      - keydb:/data
  dragonfly:
    image: docker.dragonflydb.io/dragonflydb/dragonfly
    command: ["dragonfly", "--dir", "/snapshots"]
    volumes:
      - dfly:/snapshots
volumes:
  keydb:
` + protected + `  dfly:
` + protected)},
		{name: "the keydb and dragonfly images running a client", files: composeFile(`services:
  ping:
    image: eqalpha/keydb
    command: ["keydb-cli", "-h", "keydb", "ping"]
  ping2:
    image: docker.dragonflydb.io/dragonflydb/dragonfly
    entrypoint: ["redis-cli", "-h", "dragonfly", "ping"]
`)},
		{name: "redis with append-only persistence in a shell script", files: composeFile(`services:
  queue:
    image: redis:7-alpine
    command: ["sh", "-c", "exec redis-server --appendonly yes --requirepass \"$$PASS\""]
`), want: []string{notMounted("2:3", "queue", "redis", "/data", true, "/data")}},
	})
}

func TestTagMajor(t *testing.T) {
	for tag, want := range map[string]int{
		"16": 16, "16.4": 16, "16-alpine": 16, "8.0.36-debian": 8, "2022-latest": 2022, "3-core": 3,
		"2.17.2-pg17": 17, "pg18": 18, "0.8.0-pg16-bookworm": 16,
		"": 0, "latest": 0, "alpine": 0, "v3.5.15": 0, "1bfc04063b86": 0, "RELEASE.2024-10-13T13-34-11Z": 0,
	} {
		if got := tagMajor(tag); got != want {
			t.Errorf("tagMajor(%q) = %d, want %d", tag, got, want)
		}
	}
}
