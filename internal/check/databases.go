package check

import (
	"bufio"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"mvdan.cc/sh/v3/syntax"

	"github.com/ledger-docker/ledger-docker/internal/config"
)

// dbImage is one database image: where it keeps its data and how a compose
// file can move that. dbImages is the one list of them; the user
// configuration and a project's x-ledger add more (config.DatabaseImage).
type dbImage struct {
	kind  string   // in messages
	repos []string // repositories, without registry or tag
	// majors are the tag's major versions the entry is for (0: no bound).
	majors [2]int
	// latest: the repositories whose image without a version in its tag
	// (none, latest, alpine, bookworm) is this entry. For the others such
	// a tag, or a digest alone, gets every entry of its repository, and
	// any one of them mounted right is enough.
	latest []string
	// data are the data directories with the image's defaults (any one
	// mounted is enough); %d is the tag's major version.
	data []string
	// volumes are the VOLUME paths the image declares: the engine puts an
	// anonymous volume there unless a mount has exactly that target.
	volumes []string
	env     string   // a variable that moves the data directory (PGDATA)
	flags   []string // command flags that move it (--datadir)
	serve   string   // the subcommand whose arguments are data directories (minio server /data)
	servers []string // programs that run the database, for commands run through a shell
	// snap: a Redis-like store, whose command decides whether it keeps
	// its data (nil: it always does).
	snap *snapshots
	// note is said when a mount sits on the data directory of another
	// version of the image.
	note string
}

// snapshots is how a Redis-like store's command says whether it keeps
// its data: with no word on it, the image's default snapshots go to the
// data directory.
type snapshots struct {
	what string   // for messages: who saves what, when
	off  string   // the flag that turns the snapshots off with an empty value (--save "")
	keep []string // flags that keep the data when their value is neither empty nor "no"
}

var (
	redisSnapshots = &snapshots{what: "Redis saves snapshots there by default", off: "--save",
		keep: []string{"--save", "--appendonly"}}
	// KeyDB is a Redis fork: its image runs keydb-server with
	// /etc/keydb/keydb.conf (save 900 1, 300 10, 60 10000; dir /data).
	keydbSnapshots = &snapshots{what: "KeyDB saves snapshots there by default", off: "--save",
		keep: []string{"--save", "--appendonly"}}
	// Dragonfly writes dump-{timestamp} (--dbfilename) to --dir (the
	// working directory, /data) when it shuts down, and on --snapshot_cron.
	dragonflySnapshots = &snapshots{what: "Dragonfly saves snapshots there when it stops, by default",
		off: "--dbfilename", keep: []string{"--dbfilename", "--snapshot_cron"}}
)

var (
	pgRepos    = []string{"postgres", "postgis/postgis", "timescale/timescaledb", "pgvector/pgvector"}
	pgServers  = []string{"postgres", "postmaster"}
	myServers  = []string{"mysqld", "mysqld_safe", "mariadbd", "mariadbd-safe"}
	redisBins  = []string{"redis-server", "valkey-server", "redis-stack-server"}
	influxBins = []string{"influxd", "influxdb3"}
)

// dbImages: every database image the check knows by name. Data directories
// and VOLUME declarations are the images' own (their Dockerfiles); where an
// image declares no VOLUME, or it is not known, volumes is empty.
var dbImages = []dbImage{
	// PostgreSQL 18 keeps PGDATA=/var/lib/postgresql/18/docker under VOLUME
	// /var/lib/postgresql; before 18, PGDATA and VOLUME are /var/lib/postgresql/data.
	// postgres and postgis/postgis without a version are 18 or later
	// (docker-library/official-images#19955: "Update latest to 18";
	// postgis' 18-3.6 tags file lists latest); timescaledb and pgvector tag
	// their latest by PostgreSQL version (latest-pg17, pg18). An 18 image
	// with a mount at /var/lib/postgresql/data and the default PGDATA
	// refuses to initialise (docker-library/postgres#1259,
	// docker_setup_env).
	{kind: "postgres", repos: pgRepos, majors: [2]int{18, 0}, latest: []string{"postgres", "postgis/postgis"},
		data: []string{"/var/lib/postgresql/%d/docker"}, volumes: []string{"/var/lib/postgresql"}, env: "PGDATA",
		servers: pgServers, note: "current images refuse to initialise a database while a mount sits at " +
			"/var/lib/postgresql/data"},
	{kind: "postgres", repos: pgRepos, majors: [2]int{0, 17}, data: []string{"/var/lib/postgresql/data"},
		volumes: []string{"/var/lib/postgresql/data"}, env: "PGDATA", servers: pgServers},
	{kind: "postgres", repos: []string{"timescale/timescaledb-ha"}, data: []string{"/home/postgres/pgdata"}, env: "PGDATA", servers: pgServers},
	{kind: "postgres", repos: []string{"bitnami/postgresql"}, data: []string{"/bitnami/postgresql"}, env: "POSTGRESQL_DATA_DIR", servers: pgServers},
	{kind: "mysql", repos: []string{"mysql", "percona", "percona/percona-server"}, data: []string{"/var/lib/mysql"},
		volumes: []string{"/var/lib/mysql"}, flags: []string{"--datadir"}, servers: myServers},
	{kind: "mysql", repos: []string{"mysql/mysql-server"}, data: []string{"/var/lib/mysql"}, flags: []string{"--datadir"}, servers: myServers},
	{kind: "mariadb", repos: []string{"mariadb"}, data: []string{"/var/lib/mysql"},
		volumes: []string{"/var/lib/mysql"}, flags: []string{"--datadir"}, servers: myServers},
	{kind: "mysql", repos: []string{"bitnami/mysql"}, data: []string{"/bitnami/mysql"}, servers: myServers},
	{kind: "mariadb", repos: []string{"bitnami/mariadb"}, data: []string{"/bitnami/mariadb"}, servers: myServers},
	{kind: "mongo", repos: []string{"mongo"}, data: []string{"/data/db"}, volumes: []string{"/data/db", "/data/configdb"},
		flags: []string{"--dbpath"}, servers: []string{"mongod"}},
	{kind: "mongo", repos: []string{"mongodb/mongodb-community-server", "mongodb/mongodb-enterprise-server"},
		data: []string{"/data/db"}, flags: []string{"--dbpath"}, servers: []string{"mongod"}},
	{kind: "mongo", repos: []string{"bitnami/mongodb"}, data: []string{"/bitnami/mongodb"}, servers: []string{"mongod"}},
	{kind: "redis", repos: []string{"redis", "valkey/valkey"}, data: []string{"/data"}, volumes: []string{"/data"},
		flags: []string{"--dir"}, servers: redisBins, snap: redisSnapshots},
	{kind: "redis", repos: []string{"redis/redis-stack-server", "redis/redis-stack"}, data: []string{"/data"},
		flags: []string{"--dir"}, servers: redisBins, snap: redisSnapshots},
	{kind: "redis", repos: []string{"bitnami/redis"}, data: []string{"/bitnami/redis/data"}, servers: redisBins,
		snap: redisSnapshots},
	{kind: "redis", repos: []string{"bitnami/valkey"}, data: []string{"/bitnami/valkey/data"}, servers: redisBins,
		snap: redisSnapshots},
	// KeyDB (Snapchat/KeyDB pkg/docker/Dockerfile): VOLUME /data, WORKDIR
	// /data, keydb.conf's dir /data.
	{kind: "keydb", repos: []string{"eqalpha/keydb"}, data: []string{"/data"}, volumes: []string{"/data"},
		flags: []string{"--dir"}, servers: []string{"keydb-server"}, snap: keydbSnapshots},
	// Dragonfly (dragonflydb/dragonfly tools/packaging/Dockerfile.*-prod):
	// VOLUME /data, WORKDIR /data, and --dir defaults to the working
	// directory.
	{kind: "dragonfly", repos: []string{"dragonflydb/dragonfly"}, data: []string{"/data"}, volumes: []string{"/data"},
		flags: []string{"--dir"}, servers: []string{"dragonfly"}, snap: dragonflySnapshots},
	{kind: "elasticsearch", repos: []string{"elasticsearch", "elasticsearch/elasticsearch"},
		data: []string{"/usr/share/elasticsearch/data"}, env: "path.data", servers: []string{"elasticsearch", "eswrapper"}},
	{kind: "elasticsearch", repos: []string{"bitnami/elasticsearch"}, data: []string{"/bitnami/elasticsearch/data"}},
	{kind: "opensearch", repos: []string{"opensearchproject/opensearch"}, data: []string{"/usr/share/opensearch/data"},
		env: "path.data", servers: []string{"opensearch"}},
	{kind: "sqlserver", repos: []string{"mssql/server", "mssql/rhel/server", "azure-sql-edge"}, data: []string{"/var/opt/mssql"},
		servers: []string{"sqlservr"}},
	{kind: "clickhouse", repos: []string{"clickhouse", "clickhouse/clickhouse-server", "yandex/clickhouse-server"},
		data: []string{"/var/lib/clickhouse"}, volumes: []string{"/var/lib/clickhouse"}, servers: []string{"clickhouse-server", "clickhouse"}},
	{kind: "influxdb", repos: []string{"influxdb"}, majors: [2]int{2, 2}, data: []string{"/var/lib/influxdb2"},
		volumes: []string{"/var/lib/influxdb2"}, servers: influxBins},
	{kind: "influxdb", repos: []string{"influxdb"}, majors: [2]int{0, 1}, data: []string{"/var/lib/influxdb"},
		volumes: []string{"/var/lib/influxdb"}, servers: influxBins},
	{kind: "influxdb", repos: []string{"influxdb"}, majors: [2]int{3, 0}, data: []string{"/home/influxdb3/.influxdb3", "/var/lib/influxdb3"},
		env: "INFLUXDB3_DB_DIR", flags: []string{"--data-dir"}, servers: influxBins},
	{kind: "influxdb", repos: []string{"bitnami/influxdb"}, data: []string{"/bitnami/influxdb"}, servers: influxBins},
	{kind: "cassandra", repos: []string{"cassandra"}, data: []string{"/var/lib/cassandra"}, volumes: []string{"/var/lib/cassandra"},
		servers: []string{"cassandra"}},
	{kind: "cassandra", repos: []string{"bitnami/cassandra"}, data: []string{"/bitnami/cassandra"}, servers: []string{"cassandra"}},
	{kind: "scylladb", repos: []string{"scylladb/scylla"}, data: []string{"/var/lib/scylla"}, volumes: []string{"/var/lib/scylla"},
		servers: []string{"scylla"}},
	{kind: "neo4j", repos: []string{"neo4j"}, data: []string{"/data"}, volumes: []string{"/data"},
		env: "NEO4J_server_directories_data", servers: []string{"neo4j"}},
	{kind: "couchdb", repos: []string{"couchdb", "apache/couchdb"}, data: []string{"/opt/couchdb/data"},
		volumes: []string{"/opt/couchdb/data"}, servers: []string{"couchdb"}},
	// the node's database is mnesia/ under /var/lib/rabbitmq: a mount of
	// either keeps it
	{kind: "rabbitmq", repos: []string{"rabbitmq"}, data: []string{"/var/lib/rabbitmq", "/var/lib/rabbitmq/mnesia"},
		volumes: []string{"/var/lib/rabbitmq"}, env: "RABBITMQ_MNESIA_BASE", servers: []string{"rabbitmq-server"}},
	{kind: "rabbitmq", repos: []string{"bitnami/rabbitmq"}, data: []string{"/bitnami/rabbitmq/mnesia"}, servers: []string{"rabbitmq-server"}},
	{kind: "kafka", repos: []string{"confluentinc/cp-kafka", "confluentinc/cp-server"}, data: []string{"/var/lib/kafka/data"},
		volumes: []string{"/var/lib/kafka/data"}, env: "KAFKA_LOG_DIRS", servers: []string{"kafka-server-start", "kafka-server-start.sh"}},
	{kind: "kafka", repos: []string{"apache/kafka", "apache/kafka-native"}, data: []string{"/tmp/kraft-combined-logs"},
		env: "KAFKA_LOG_DIRS", servers: []string{"kafka-server-start.sh"}},
	{kind: "kafka", repos: []string{"bitnami/kafka"}, data: []string{"/bitnami/kafka"}, servers: []string{"kafka-server-start.sh"}},
	{kind: "zookeeper", repos: []string{"zookeeper"}, data: []string{"/data"}, volumes: []string{"/data", "/datalog"},
		env: "ZOO_DATA_DIR", servers: []string{"zkServer.sh"}},
	{kind: "zookeeper", repos: []string{"confluentinc/cp-zookeeper"}, data: []string{"/var/lib/zookeeper/data"},
		volumes: []string{"/var/lib/zookeeper/data", "/var/lib/zookeeper/log"}, env: "ZOOKEEPER_DATA_DIR",
		servers: []string{"zookeeper-server-start"}},
	{kind: "zookeeper", repos: []string{"bitnami/zookeeper"}, data: []string{"/bitnami/zookeeper"}, servers: []string{"zkServer.sh"}},
	{kind: "minio", repos: []string{"minio/minio"}, data: []string{"/data"}, volumes: []string{"/data"},
		env: "MINIO_VOLUMES", serve: "server", servers: []string{"minio"}},
	{kind: "minio", repos: []string{"bitnami/minio"}, data: []string{"/bitnami/minio/data"}, servers: []string{"minio"}},
	{kind: "etcd", repos: []string{"coreos/etcd", "etcd-development/etcd"}, data: []string{"/var/lib/etcd"},
		env: "ETCD_DATA_DIR", flags: []string{"--data-dir"}, servers: []string{"etcd"}},
	{kind: "etcd", repos: []string{"bitnami/etcd"}, data: []string{"/bitnami/etcd"}, env: "ETCD_DATA_DIR",
		flags: []string{"--data-dir"}, servers: []string{"etcd"}},
	{kind: "cockroachdb", repos: []string{"cockroachdb/cockroach"}, data: []string{"/cockroach/cockroach-data"},
		flags: []string{"--store", "-s"}, servers: []string{"cockroach"}},
	{kind: "arangodb", repos: []string{"arangodb", "arangodb/arangodb"}, data: []string{"/var/lib/arangodb3"},
		volumes: []string{"/var/lib/arangodb3"}, servers: []string{"arangod"}},
	{kind: "couchbase", repos: []string{"couchbase", "couchbase/server"}, data: []string{"/opt/couchbase/var"},
		volumes: []string{"/opt/couchbase/var"}, servers: []string{"couchbase-server"}},
	{kind: "solr", repos: []string{"solr"}, data: []string{"/var/solr"}, volumes: []string{"/var/solr"},
		servers: []string{"solr", "solr-foreground"}},
	{kind: "questdb", repos: []string{"questdb/questdb"}, data: []string{"/var/lib/questdb"}, servers: []string{"questdb"}},
	{kind: "qdrant", repos: []string{"qdrant/qdrant"}, data: []string{"/qdrant/storage"}, servers: []string{"qdrant"}},
	{kind: "meilisearch", repos: []string{"getmeili/meilisearch"}, data: []string{"/meili_data"},
		flags: []string{"--db-path"}, servers: []string{"meilisearch"}},
}

// clientPrograms only talk to a database: a database image whose command
// runs these (and not the server) is a client, with no data of its own.
var clientPrograms = []string{
	"psql", "pg_dump", "pg_dumpall", "pg_restore", "pg_basebackup", "pg_receivewal", "pg_isready", "pgbench",
	"vacuumdb", "createdb", "dropdb", "createuser", "dropuser", "reindexdb", "clusterdb",
	"mysql", "mysqldump", "mysqladmin", "mysqlcheck", "mysqlimport", "mysqlpump", "mysqlbinlog", "mysqlsh",
	"mariadb", "mariadb-dump", "mariadb-admin", "mariadb-check", "mariadb-import", "mariadb-binlog",
	"mongosh", "mongo", "mongodump", "mongorestore", "mongoexport", "mongoimport",
	"redis-cli", "valkey-cli", "redis-benchmark", "keydb-cli", "keydb-benchmark", "cqlsh", "cypher-shell", "influx",
	"clickhouse-client", "etcdctl", "rabbitmqadmin", "sqlcmd", "mc",
}

// dbIndex maps a repository to its entries, in table order.
var dbIndex = indexImages(dbImages)

func indexImages(list []dbImage) map[string][]dbImage {
	out := map[string][]dbImage{}
	for _, e := range list {
		for _, r := range e.repos {
			out[r] = append(out[r], e)
		}
	}
	return out
}

// extraImages turns configured images (config.DatabaseImage) into entries.
func extraImages(list []config.DatabaseImage) map[string][]dbImage {
	if len(list) == 0 {
		return nil
	}
	es := make([]dbImage, 0, len(list))
	for _, d := range list {
		repo, _ := imageRepo(d.Image)
		kind := d.Kind
		if kind == "" {
			kind = path.Base(repo)
		}
		es = append(es, dbImage{kind: kind, repos: []string{repo}, data: []string{path.Clean(d.Data)},
			volumes: d.Volumes, env: d.Env, flags: d.Flags})
	}
	return indexImages(es)
}

// imageRepo returns the repository without registry and tag, and the tag.
func imageRepo(image string) (repo, tag string) {
	image, _, _ = strings.Cut(image, "@")
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		image, tag = image[:i], image[i+1:]
	}
	parts := strings.Split(image, "/")
	if len(parts) > 1 && (strings.ContainsAny(parts[0], ".:") || parts[0] == "localhost") {
		parts = parts[1:]
	}
	if len(parts) > 1 && parts[0] == "library" {
		parts = parts[1:]
	}
	return strings.Join(parts, "/"), tag
}

var (
	tagPostgres = regexp.MustCompile(`(?:^|-)pg(\d+)`)
	tagLeading  = regexp.MustCompile(`^(\d+)(?:[.\-_]|beta|rc|alpha|$)`)
)

// tagMajor is the major version a tag names: the PostgreSQL version of a
// "2.14.2-pg16" or "pg17" tag (timescaledb, pgvector), else its leading
// number (16, 16.4, 16-alpine, 18beta3, 18rc1); 0 when it names none (latest, alpine, a
// build hash such as 1bfc04063b86).
func tagMajor(tag string) int {
	m := tagPostgres.FindStringSubmatch(tag)
	if m == nil {
		m = tagLeading.FindStringSubmatch(tag)
	}
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// imageMatch is what the table says about an image reference.
type imageMatch struct {
	use    []dbImage // the entries for its version (any one mounted right is enough)
	others []dbImage // its repository's entries for other versions
	major  int       // the version its tag names (0: none)
	latest bool      // its tag names no version, and use is the repository's latest
}

// lookupImage finds an image reference's entries: the configured ones
// first, then the table; by repository, else by its last name
// (registry.example.com/team/postgres is postgres).
func lookupImage(extra map[string][]dbImage, image string) (imageMatch, bool) {
	repo, tag := imageRepo(image)
	if repo == "" {
		return imageMatch{}, false
	}
	// a version the reference does not say: a digest alone pins one image;
	// a tag made of a variable the environment leaves unset reads as
	// "postgres:" or "postgres:-alpine" here (a real tag is never empty and
	// never starts with - or .), and its value comes from elsewhere (.env,
	// CI)
	ref, _, _ := strings.Cut(image, "@")
	unknown := (tag == "" && (strings.Contains(image, "@") || strings.HasSuffix(ref, ":"))) ||
		strings.HasPrefix(tag, "-") || strings.HasPrefix(tag, ".")
	for _, name := range []string{repo, path.Base(repo)} {
		for _, idx := range []map[string][]dbImage{extra, dbIndex} {
			if es := idx[name]; len(es) > 0 {
				return forTag(es, repo, tagMajor(tag), unknown), true
			}
		}
	}
	return imageMatch{}, false
}

// forTag splits a repository's entries into those for the tag's major
// version (every one when none fits) and the others. A tag without a
// version gets the entry that is the repository's latest, when the table
// says which one it is, else every entry; so does a version that is
// unknown (unknown: a digest alone, a tag made of an unset variable).
func forTag(es []dbImage, repo string, major int, unknown bool) imageMatch {
	m := imageMatch{major: major}
	for _, e := range es {
		var fits bool
		switch {
		case major > 0:
			fits = (e.majors[0] == 0 || major >= e.majors[0]) && (e.majors[1] == 0 || major <= e.majors[1])
		case !unknown:
			fits = slices.Contains(e.latest, repo)
			m.latest = m.latest || fits
		}
		if fits {
			m.use = append(m.use, e)
		} else {
			m.others = append(m.others, e)
		}
	}
	if len(m.use) == 0 {
		m.use, m.others = es, nil
	}
	return m
}

// database is a service recognised as a database, with its data
// directories resolved for its environment and command.
type database struct {
	kind     string
	image    string      // the image reference it was recognised by ("": by its environment)
	latest   bool        // that reference names no version and is taken as the latest
	variants []dbVariant // any one mounted right is enough
	// stale are data directories of the image's other versions, that a
	// mount may still sit on.
	stale []staleDir
	snap  *snapshots // a Redis-like store
	redis redisMode  // what its command says about keeping its data
}

// dbVariant is one way the image may lay out its data.
type dbVariant struct {
	data     []string // any one mounted is enough
	volumes  []string // the image's VOLUME paths
	moved    bool     // the environment or the command moved the data directory
	env      string   // the variable that moves it
	versions string   // the versions the entry is for ("18 and later"; "": every one)
	note     string
}

// staleDir is a data directory of other versions of an image.
type staleDir struct {
	dir      string
	versions string // "17 and earlier"
}

// versions names an entry's major versions: "18 and later", "17 and
// earlier", "2"; "" for every version.
func (e dbImage) versions() string {
	switch lo, hi := e.majors[0], e.majors[1]; {
	case lo == 0 && hi == 0:
		return ""
	case hi == 0:
		return fmt.Sprintf("%d and later", lo)
	case lo == 0:
		return fmt.Sprintf("%d and earlier", hi)
	case lo == hi:
		return strconv.Itoa(lo)
	default:
		return fmt.Sprintf("%d to %d", lo, hi)
	}
}

// redisMode: what a Redis-like store's command says about keeping its data.
type redisMode int

const (
	redisNone     redisMode = iota // not a Redis-like store
	redisPersists                  // --appendonly yes, --save with a schedule, --snapshot_cron...
	redisDefault                   // nothing said: the image's default snapshots go to its data directory
	redisOff                       // --save "" (--dbfilename ""), nothing that keeps: a cache
)

// detectDatabase recognises a database service: by the base image of its
// Dockerfile when it is built here, else by its image, else (no image, or
// a Dockerfile that cannot be read) by its POSTGRES_*, MYSQL_*, MARIADB_*
// or MONGO_INITDB_* environment. A database image that runs only client
// programs (pg_dump, psql, mysqldump...) is not the database.
func detectDatabase(s types.ServiceConfig, extra map[string][]dbImage) (database, bool) {
	var m imageMatch
	ok, ref := false, ""
	read := false // the Dockerfile says what the image is
	if s.Build != nil {
		if ref, read = dockerfileBase(s.Build); read {
			m, ok = lookupImage(extra, ref)
		}
	}
	if !read && s.Image != "" {
		ref = s.Image
		m, ok = lookupImage(extra, ref)
	}
	if !ok && !read && (s.Image == "" || s.Build != nil) {
		ref = ""
		m.use, ok = probeEnvironment(s.Environment)
	}
	if !ok {
		return database{}, false
	}
	es := m.use
	argv := append(slices.Clone([]string(s.Entrypoint)), s.Command...)
	db := database{kind: es[0].kind, image: ref, latest: m.latest, snap: es[0].snap}
	for _, e := range es {
		if !runsServer(argv, e.servers) {
			return database{}, false
		}
		db.variants = append(db.variants, e.resolve(m.major, s.Environment, argv))
	}
	for _, e := range m.others {
		for _, d := range e.data {
			if !strings.Contains(d, "%d") {
				db.stale = append(db.stale, staleDir{dir: d, versions: e.versions()})
			}
		}
	}
	if db.snap != nil {
		if db.redis = db.snap.mode(argv); db.redis == redisOff {
			return database{}, false
		}
	}
	return db, true
}

// resolve fills in the tag's major version, then lets the environment,
// a flag or the serve subcommand's arguments move the data directory.
func (e dbImage) resolve(major int, env types.MappingWithEquals, argv []string) dbVariant {
	if major == 0 {
		major = e.majors[0]
	}
	v := dbVariant{volumes: e.volumes, env: e.env, versions: e.versions(), note: e.note}
	for _, d := range e.data {
		if strings.Contains(d, "%d") {
			d = fmt.Sprintf(d, major)
		}
		v.data = append(v.data, d)
	}
	if e.env != "" {
		if val := env[e.env]; val != nil && path.IsAbs(*val) {
			v.data, v.moved = []string{path.Clean(*val)}, true
		}
	}
	if dir := flagValue(argv, e.flags); dir != "" {
		v.data, v.moved = []string{dir}, true
	}
	if e.serve != "" {
		if dirs := serveArgs(argv, e.serve); len(dirs) > 0 {
			v.data, v.moved = dirs, true
		}
	}
	return v
}

// flagValue is the last absolute path given to one of flags (--flag=VALUE
// or --flag VALUE; a cockroach-style "path=/x,size=..." value counts too).
func flagValue(argv, flags []string) string {
	out := ""
	for i, a := range argv {
		for _, f := range flags {
			val, ok := "", false
			switch {
			case strings.HasPrefix(a, f+"="):
				val, ok = a[len(f)+1:], true
			case a == f && i+1 < len(argv):
				val, ok = argv[i+1], true
			}
			if !ok {
				continue
			}
			val = strings.TrimPrefix(val, "path=")
			val, _, _ = strings.Cut(val, ",")
			if path.IsAbs(val) {
				out = path.Clean(val)
			}
		}
	}
	return out
}

// serveArgs: the absolute paths after the serve subcommand (minio server
// /data1 /data{2...4}: brace ranges count as their common folder).
func serveArgs(argv []string, serve string) []string {
	i := slices.Index(argv, serve)
	if i < 0 {
		return nil
	}
	var out []string
	for _, a := range argv[i+1:] {
		if j := strings.Index(a, "{"); j >= 0 {
			a = a[:j]
		}
		if path.IsAbs(a) {
			out = append(out, path.Clean(a))
		}
	}
	return out
}

// probeEnvironment recognises a database by the variables its image reads
// (a locally built image whose Dockerfile cannot be read, or an image left
// to an unset variable). A service that also names a database host is a
// client of it (an app), not the database.
func probeEnvironment(env types.MappingWithEquals) ([]dbImage, bool) {
	for k := range env {
		u := strings.ToUpper(k)
		if u == "PGHOST" || u == "DATABASE_URL" || (strings.HasSuffix(u, "_HOST") && u != "MYSQL_ROOT_HOST") ||
			strings.HasSuffix(u, "_SERVER") || strings.HasSuffix(u, "_URI") {
			return nil, false
		}
	}
	for _, probe := range []struct{ prefix, image string }{
		{"POSTGRES_", "postgres"}, {"MARIADB_", "mariadb"}, {"MYSQL_", "mysql"}, {"MONGO_INITDB_", "mongo"},
	} {
		for k := range env {
			if strings.HasPrefix(k, probe.prefix) {
				return dbIndex[probe.image], true
			}
		}
	}
	return nil, false
}

// dockerfileBase is the image the service's Dockerfile builds on (the
// final stage's FROM, through stage names and ARG defaults, build args
// applied), and whether the Dockerfile could be read at all.
func dockerfileBase(b *types.BuildConfig) (string, bool) {
	src := b.DockerfileInline
	if src == "" {
		if strings.Contains(b.Context, "://") || strings.HasPrefix(b.Context, "git@") {
			return "", false
		}
		df := b.Dockerfile
		if df == "" {
			df = "Dockerfile"
		}
		if !filepath.IsAbs(df) {
			df = filepath.Join(b.Context, df)
		}
		raw, err := readFile(df)
		if err != nil {
			return "", false
		}
		src = string(raw)
	}
	args := map[string]string{}
	stages := map[string]string{}
	base := ""
	sc := bufio.NewScanner(strings.NewReader(src))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "ARG":
			if base != "" {
				continue // a stage's ARG: FROM lines do not see it
			}
			k, v, _ := strings.Cut(f[1], "=")
			if bv := b.Args[k]; bv != nil {
				v = *bv
			}
			args[k] = strings.Trim(v, `"'`)
		case "FROM":
			f = slices.DeleteFunc(f[1:], func(w string) bool { return strings.HasPrefix(w, "--") })
			if len(f) == 0 {
				continue
			}
			img := os.Expand(f[0], func(k string) string { return args[k] })
			if s, ok := stages[strings.ToLower(img)]; ok {
				img = s
			}
			if len(f) >= 3 && strings.EqualFold(f[1], "AS") {
				stages[strings.ToLower(f[2])] = img
			}
			base = img
		}
	}
	if base == "" || strings.Contains(base, "$") {
		return "", false
	}
	return base, true
}

// runsServer: whether a database image with this entrypoint and command
// runs its server. The image's own command, flags for the server, the
// entrypoint script or a server program do; a client program (pg_dump,
// mysqldump...), directly or as the only database program of a shell
// script, does not. Anything else counts as the server.
func runsServer(argv, servers []string) bool {
	for len(argv) > 0 {
		a := path.Base(argv[0])
		switch {
		case a == "tini" || a == "--" || a == "exec" || a == "dumb-init" || a == "env" || isAssignment(a):
			argv = argv[1:]
		case (a == "gosu" || a == "su-exec") && len(argv) > 1:
			argv = argv[2:]
		case strings.Contains(a, "entrypoint"):
			argv = argv[1:]
		case isShell(a):
			script, ok := shellScript(argv[1:])
			if !ok {
				return true
			}
			return scriptRunsServer(script, servers)
		default:
			return !slices.Contains(clientPrograms, a)
		}
	}
	return true
}

// isAssignment: a VAR=value word before a program (env, or a shell).
func isAssignment(w string) bool {
	k, _, ok := strings.Cut(w, "=")
	return ok && k != "" && !strings.HasPrefix(k, "-")
}

func isShell(name string) bool {
	return slices.Contains([]string{"sh", "bash", "ash", "dash", "zsh"}, name)
}

// shellScript is the script of `sh -c SCRIPT` (-c possibly among other
// single-letter flags: -ec, -xc).
func shellScript(args []string) (string, bool) {
	for i, a := range args {
		if !strings.HasPrefix(a, "-") || strings.HasPrefix(a, "--") {
			return "", false
		}
		if strings.Contains(a, "c") && i+1 < len(args) {
			return args[i+1], true
		}
	}
	return "", false
}

// scriptCalls lists the programs and the words of every command of a
// shell script (in pipelines, lists, subshells, $(...), functions and
// loops), read with a real shell parser; ok is false when it does not
// parse.
func scriptCalls(script string) (progs []string, words []string, ok bool) {
	f, err := syntax.NewParser().Parse(strings.NewReader(script), "")
	if err != nil {
		return nil, nil, false
	}
	syntax.Walk(f, func(n syntax.Node) bool {
		call, isCall := n.(*syntax.CallExpr)
		if !isCall {
			return true
		}
		var args []string
		for _, w := range call.Args {
			args = append(args, w.Lit())
		}
		words = append(words, args...)
		for len(args) > 0 {
			a := path.Base(args[0])
			switch {
			case a == "exec" || a == "nohup" || a == "env" || a == "time" || a == "command" || isAssignment(a):
				args = args[1:]
				continue
			case (a == "gosu" || a == "su-exec") && len(args) > 1:
				args = args[2:]
				continue
			}
			progs = append(progs, a)
			break
		}
		return true
	})
	return progs, words, true
}

// scriptRunsServer: a script runs the server unless it runs a client
// program and neither a server program nor an entrypoint script.
func scriptRunsServer(script string, servers []string) bool {
	progs, _, ok := scriptCalls(script)
	if !ok {
		return true
	}
	client := false
	for _, p := range progs {
		if slices.Contains(servers, p) || strings.Contains(p, "entrypoint") {
			return true
		}
		client = client || slices.Contains(clientPrograms, p)
	}
	return !client
}

// mode reads a Redis-like store's flags (--flag value, --flag=value), in
// the command or in the shell script it runs: a keep flag with a value
// keeps the data (--save 60 1, --appendonly yes, --snapshot_cron), the off
// flag with an empty one makes it a cache (--save "", --dbfilename "").
func (sn *snapshots) mode(argv []string) redisMode {
	words := argv
	for i, a := range argv {
		if isShell(path.Base(a)) {
			if script, ok := shellScript(argv[i+1:]); ok {
				if _, w, ok := scriptCalls(script); ok {
					words = append(slices.Clone(argv), w...)
				}
			}
			break
		}
	}
	off := false
	for i, a := range words {
		if !strings.HasPrefix(a, "-") {
			continue
		}
		flag, val, ok := strings.Cut(a, "=")
		if !ok && i+1 < len(words) && !strings.HasPrefix(words[i+1], "--") {
			val, ok = words[i+1], true
		}
		if !ok {
			continue
		}
		flag = "--" + strings.TrimLeft(flag, "-")
		switch val = strings.TrimSpace(strings.Trim(val, `"'`)); {
		case val != "" && val != "no" && slices.Contains(sn.keep, flag):
			return redisPersists
		case val == "" && flag == sn.off:
			off = true
		}
	}
	if off {
		return redisOff
	}
	return redisDefault
}
