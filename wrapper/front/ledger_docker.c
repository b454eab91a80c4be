/*
 * ledger_docker's front: the first thing `docker` runs once ledger-docker is
 * installed. It only screens argv and finds the real docker; it decides
 * nothing that could delete anything.
 *
 * - A command line that intercept.PassesThrough allows (internal/intercept,
 *   allow.go) is exec'd at once as the real docker, found exactly as
 *   internal/wrapper.FindReal finds it, with argv[0] "docker" and the
 *   environment unchanged: argv[0] is docker (or ledger_docker, the alias),
 *   LEDGER_EXPLAIN is empty, and after docker's global flags the first
 *   operand is one of the subcommands that cannot delete anything
 *   (pass_through below, the same list as intercept.PassThrough).
 * - Every other command line goes to the Go wrapper, ledger_docker-full,
 *   with the same argv (argv[0] included) and environment, plus
 *   LEDGER_WRAPPER naming this front so that no later stage takes it for
 *   the real docker. A LEDGER_WRAPPER_FULL must answer the Go wrapper's
 *   handshake first; a LEDGER_REAL_DOCKER must not be ledger_docker.
 * - Among those, a command line intercept.StartsAtFront allows (docker's
 *   global flags, none that chooses the endpoint, and a subcommand the Go
 *   wrapper never decides on before the command runs) does not wait for
 *   the Go wrapper's start-up: this front makes the guard's socket
 *   (docker.sock in a fresh 0700 folder ledger-guard-*), starts the real
 *   docker with DOCKER_HOST pointing at it (the guard's child environment,
 *   guardrun's childEnv), and execs the Go wrapper with
 *   LEDGER_FRONT_CHILD=PID:FD, which adopts both. The docker's requests
 *   wait in the socket's backlog until the guard answers them; nothing
 *   reaches the engine but through the guard.
 *
 * It exists because a Go program's start-up alone costs more than the 5%
 * the pass-through may add to `docker ps` (README, "Why a C front"). No
 * shell, no system(): argv-only exec.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

enum { exit_unavailable = 69, exit_not_found = 127 };

static const char full_name[] = "ledger_docker-full";

/* The handshake (wrapper.HandshakeArg and its answers): the Go wrapper
 * answers full_answer, this front front_answer. */
static const char handshake_arg[] = "--ledger-docker-handshake";
static const char full_answer[] = "ledger_docker-full handshake 1\n";
static const char front_answer[] = "ledger_docker handshake 1\n";
enum { handshake_ms = 2000 };

/* pass_through: intercept.PassThrough, the docker subcommands that cannot
 * delete anything. TestFrontListsAreIntercepts (internal/wrapper) checks
 * that these lists are intercept's. */
static const char *const pass_through[] = {
	"ps", "images", "logs", "inspect", "version", "info", "events", "stats", "top", "port",
	"diff", "history", "search", "login", "logout", "pull", "push", "tag", "save", "load",
};

/* docker/cli's global flags, as intercept.PassesThrough reads them. */
static const char *const global_value_flags[] = {
	"--config", "--context", "--host", "--log-level", "--tlscacert", "--tlscert", "--tlskey",
};
static const char global_short_values[] = "cHl";
static const char *const global_bool_flags[] = {"-D", "--debug", "--tls", "--tlsverify"};

/* may_destroy: intercept.MayDestroy(), the subcommands (and "group
 * subcommand" pairs) the Go wrapper may decide on before the command runs
 * (an early refusal, a database backup): never started by this front. */
static const char *const may_destroy[] = {
	"compose", "container remove", "container rm", "rm", "system prune", "volume prune", "volume remove", "volume rm",
};

/* endpoint_flags: intercept.EndpointFlags; endpoint_short:
 * intercept.EndpointShortFlags. */
static const char *const endpoint_flags[] = {
	"--context", "--host", "--tls", "--tlsverify", "--tlscacert", "--tlscert", "--tlskey",
};
static const char endpoint_short[] = "cH";

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* getenv_first is the value of the first KEY=... in environ, "" when there
 * is none: an environment with a key twice is read as the programs after
 * this one read it (Go's os.Getenv and os.Environ keep the first one and
 * drop the others, as glibc's getenv reads the first). */
static const char *getenv_first(const char *key) {
	size_t n = strlen(key);
	for (char **e = environ; *e; e++) {
		if (strncmp(*e, key, n) == 0 && (*e)[n] == '=') {
			return *e + n + 1;
		}
	}
	return "";
}

/* base returns filepath.Base(p) into buf (trailing slashes dropped). */
static const char *base(const char *p, char *buf, size_t size) {
	size_t n = strlen(p);
	while (n > 1 && p[n - 1] == '/') {
		n--;
	}
	if (n == 0) {
		return ".";
	}
	const char *start = p;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '/' && i + 1 < n) {
			start = p + i + 1;
		}
	}
	n -= (size_t)(start - p);
	if (n >= size) {
		n = size - 1;
	}
	memcpy(buf, start, n);
	buf[n] = '\0';
	return buf;
}

static int in_list(const char *s, const char *const *list, size_t n) {
	for (size_t i = 0; i < n; i++) {
		if (strcmp(s, list[i]) == 0) {
			return 1;
		}
	}
	return 0;
}

/* global_flag_args is intercept's globalFlagArgs: how many arguments a
 * docker global flag takes up, 0 for anything else. */
static int global_flag_args(const char *a) {
	if (in_list(a, global_bool_flags, LEN(global_bool_flags))) {
		return 1;
	}
	if (in_list(a, global_value_flags, LEN(global_value_flags))) {
		return 2;
	}
	if (a[0] == '-' && a[1] != '\0' && a[1] != '-' && strchr(global_short_values, a[1])) {
		return a[2] == '\0' ? 2 : 1;
	}
	const char *eq = strchr(a, '=');
	if (eq) {
		for (size_t i = 0; i < LEN(global_value_flags); i++) {
			size_t n = strlen(global_value_flags[i]);
			if ((size_t)(eq - a) == n && strncmp(a, global_value_flags[i], n) == 0) {
				return 1;
			}
		}
	}
	return 0;
}

/* passes_through is intercept.PassesThrough, except that any non-empty
 * LEDGER_EXPLAIN goes to the Go wrapper (which reads it with ExplainOn). */
static int passes_through(int argc, char **argv) {
	if (argc < 2) {
		return 0;
	}
	char buf[NAME_MAX + 1];
	const char *b = base(argv[0], buf, sizeof buf);
	if (strcmp(b, "docker") != 0 && strcmp(b, "ledger_docker") != 0) {
		return 0;
	}
	if (*getenv_first("LEDGER_EXPLAIN")) {
		return 0;
	}
	for (int i = 1; i < argc;) {
		const char *a = argv[i];
		if (a[0] != '-' || a[1] == '\0') {
			return in_list(a, pass_through, LEN(pass_through));
		}
		int n = global_flag_args(a);
		if (n == 0 || n > argc - i) {
			return 0;
		}
		i += n;
	}
	return 0;
}

/* is_endpoint_flag is intercept's isEndpointFlag. */
static int is_endpoint_flag(const char *a) {
	const char *eq = strchr(a, '=');
	size_t n = eq ? (size_t)(eq - a) : strlen(a);
	for (size_t i = 0; i < LEN(endpoint_flags); i++) {
		if (strlen(endpoint_flags[i]) == n && strncmp(a, endpoint_flags[i], n) == 0) {
			return 1;
		}
	}
	return a[0] == '-' && a[1] != '\0' && a[1] != '-' && strchr(endpoint_short, a[1]) != NULL;
}

/* may_destroy_at: the subcommand at argv[i] (and the word after it) is in
 * may_destroy, alone or as a pair. */
static int may_destroy_at(int argc, char **argv, int i) {
	if (!strchr(argv[i], ' ') && in_list(argv[i], may_destroy, LEN(may_destroy))) {
		return 1;
	}
	if (i + 1 >= argc) {
		return 0;
	}
	size_t n = strlen(argv[i]) + strlen(argv[i + 1]) + 2;
	char *pair = malloc(n);
	if (!pair) {
		return 1;
	}
	snprintf(pair, n, "%s %s", argv[i], argv[i + 1]);
	int r = in_list(pair, may_destroy, LEN(may_destroy));
	free(pair);
	return r;
}

/* starts_at_front is intercept.StartsAtFront. */
static int starts_at_front(int argc, char **argv) {
	if (argc < 2 || *getenv_first("LEDGER_EXPLAIN")) {
		return 0;
	}
	char buf[NAME_MAX + 1];
	const char *b = base(argv[0], buf, sizeof buf);
	if (strcmp(b, "docker") != 0 && strcmp(b, "ledger_docker") != 0) {
		return 0;
	}
	for (int i = 1; i < argc;) {
		const char *a = argv[i];
		if (a[0] != '-' || a[1] == '\0') {
			return !in_list(a, pass_through, LEN(pass_through)) && !may_destroy_at(argc, argv, i);
		}
		int n = global_flag_args(a);
		if (n == 0 || n > argc - i || is_endpoint_flag(a)) {
			return 0;
		}
		i += n;
	}
	return 0;
}

/* say writes "ledger_docker: " + a + b + c + d and a newline to stderr. */
static void say(const char *a, const char *b, const char *c, const char *d) {
	fprintf(stderr, "ledger_docker: %s%s%s%s\n", a, b, c, d);
}

/* errtext is strerror in Go's spelling (lower-case first letter). */
static const char *errtext(int err) {
	static char buf[128];
	snprintf(buf, sizeof buf, "%s", strerror(err));
	if (buf[0] >= 'A' && buf[0] <= 'Z') {
		buf[0] = (char)(buf[0] - 'A' + 'a');
	}
	return buf;
}

static char *join(const char *dir, const char *name) {
	size_t n = strlen(dir) + 1 + strlen(name) + 1;
	char *p = malloc(n);
	if (p) {
		snprintf(p, n, "%s/%s", dir, name);
	}
	return p;
}

static int same(const struct stat *a, const struct stat *b) {
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* is_wrapper: path resolves to a file named ledger_docker or
 * ledger_docker-full (a link to another copy of the wrapper). */
static int is_wrapper(const char *path) {
	char real[PATH_MAX], buf[NAME_MAX + 1];
	if (!realpath(path, real)) {
		return 0;
	}
	const char *b = base(real, buf, sizeof buf);
	return strcmp(b, "ledger_docker") == 0 || strcmp(b, full_name) == 0;
}

/* shim_dir is $LEDGER_SHIM_DIR, else
 * ${XDG_DATA_HOME:-$HOME/.local/share}/ledger-docker/shim. */
static char *shim_dir(void) {
	const char *d = getenv_first("LEDGER_SHIM_DIR");
	if (*d) {
		return strdup(d);
	}
	const char *xdg = getenv_first("XDG_DATA_HOME");
	const char *home = getenv_first("HOME");
	size_t n = strlen(xdg) + strlen(home) + 64;
	char *p = malloc(n);
	if (!p) {
		return NULL;
	}
	if (*xdg) {
		snprintf(p, n, "%s/ledger-docker/shim", xdg);
	} else if (*home) {
		snprintf(p, n, "%s/.local/share/ledger-docker/shim", home);
	} else {
		snprintf(p, n, ".local/share/ledger-docker/shim");
	}
	return p;
}

/* find_real is wrapper.FindReal for docker: $LEDGER_REAL_DOCKER, else the
 * first executable non-directory "docker" on PATH that is not in the shim
 * folder, not this program or $LEDGER_WRAPPER's files, and not a link to a
 * ledger_docker or ledger_docker-full. NULL when there is none. */
static const char *find_real(void) {
	const char *override = getenv_first("LEDGER_REAL_DOCKER");
	if (*override) {
		return override;
	}
	struct stat selves[16];
	int nselves = 0;
	char *list = strdup(getenv_first("LEDGER_WRAPPER"));
	for (char *s = list, *next; s && nselves < 15; s = next) {
		next = strchr(s, ':');
		if (next) {
			*next++ = '\0';
		}
		if (*s && stat(s, &selves[nselves]) == 0) {
			nselves++;
		}
	}
	if (stat("/proc/self/exe", &selves[nselves]) == 0) {
		nselves++;
	}
	struct stat shim;
	char *shim_path = shim_dir();
	int have_shim = shim_path && stat(shim_path, &shim) == 0;

	char *path = strdup(getenv_first("PATH"));
	if (!path || !*path) {
		return NULL; /* filepath.SplitList("") is empty */
	}
	for (char *dir = path, *next; dir; dir = next) {
		next = strchr(dir, ':');
		if (next) {
			*next++ = '\0';
		}
		if (!*dir) {
			dir = ".";
		}
		struct stat st;
		if (have_shim && stat(dir, &st) == 0 && same(&st, &shim)) {
			continue;
		}
		char *cand = join(dir, "docker");
		if (!cand || stat(cand, &st) != 0 || S_ISDIR(st.st_mode) || (st.st_mode & 0111) == 0) {
			free(cand);
			continue;
		}
		int skip = is_wrapper(cand);
		for (int i = 0; i < nselves && !skip; i++) {
			skip = same(&st, &selves[i]);
		}
		if (!skip) {
			return cand;
		}
		free(cand);
	}
	return NULL;
}

static long long now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* reap waits for pid until deadline (ms, CLOCK_MONOTONIC), then kills it.
 * It returns the status, -1 unless pid exited by itself in time. */
static int reap(pid_t pid, long long deadline) {
	int status;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid) {
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		}
		if ((r < 0 && errno != EINTR) || now_ms() >= deadline) {
			break;
		}
		usleep(1000);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
	}
	return -1;
}

/* handshake runs `full --ledger-docker-handshake` (execv, no shell; stdin
 * and stderr /dev/null, stdout a pipe) and reports whether it printed
 * exactly full_answer, closed its stdout and exited 0, all within
 * handshake_ms. Anything else (no answer, another one, a program that
 * hangs) is a refusal. */
static int handshake(const char *full) {
	int fds[2];
	if (pipe(fds) != 0) {
		return 0;
	}
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return 0;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		if (null < 0 || dup2(null, 0) < 0 || dup2(null, 2) < 0 || dup2(fds[1], 1) < 0) {
			_exit(127);
		}
		char *const args[] = {(char *)full, (char *)handshake_arg, NULL};
		execv(full, args);
		_exit(127);
	}
	close(fds[1]);
	long long deadline = now_ms() + handshake_ms;
	char buf[64];
	size_t got = 0;
	int eof = 0;
	while (!eof && got < sizeof buf) {
		long long left = deadline - now_ms();
		struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
		int r = left > 0 ? poll(&pfd, 1, (int)left) : 0;
		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r <= 0) {
			break; /* the deadline, or poll failed */
		}
		ssize_t n = read(fds[0], buf + got, sizeof buf - got);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			eof = n == 0;
			break;
		}
		got += (size_t)n;
	}
	close(fds[0]);
	int status = reap(pid, eof ? deadline : 0);
	return eof && status == 0 && got == sizeof full_answer - 1 && memcmp(buf, full_answer, got) == 0;
}

/* not_real reports whether a LEDGER_REAL_DOCKER path is this program's
 * own file or resolves to a ledger_docker or ledger_docker-full (the Go
 * wrapper's CheckReal also runs the handshake, too slow for this path). */
static int not_real(const char *path) {
	struct stat st, self;
	if (stat(path, &st) == 0 && stat("/proc/self/exe", &self) == 0 && same(&st, &self)) {
		return 1;
	}
	return is_wrapper(path);
}

/* full_path is the Go wrapper to hand to: $LEDGER_WRAPPER_FULL once it
 * has answered the handshake, else the file of that name beside this
 * program's own file (self, filled in). NULL after a message. */
static const char *full_path(char *self, size_t size) {
	ssize_t n = readlink("/proc/self/exe", self, size - 1);
	if (n < 0) {
		say("cannot find ledger_docker's own file: ", errtext(errno), "", "\nNothing was run.");
		return NULL;
	}
	self[n] = '\0';
	const char *full = getenv_first("LEDGER_WRAPPER_FULL");
	if (!*full) {
		char *slash = strrchr(self, '/');
		size_t dirlen = slash ? (size_t)(slash - self) : 0;
		char *p = malloc(dirlen + sizeof full_name + 1);
		if (!p) {
			say("out of memory", "", "", "\nNothing was run.");
			return NULL;
		}
		memcpy(p, self, dirlen);
		p[dirlen] = '/';
		memcpy(p + dirlen + 1, full_name, sizeof full_name);
		return p;
	}
	if (!handshake(full)) {
		say("LEDGER_WRAPPER_FULL=", full, " is not ledger_docker-full: it did not answer its handshake", "");
		fprintf(stderr, "Nothing was run. Unset LEDGER_WRAPPER_FULL (the %s beside ledger_docker is used) "
				"or point it at %s.\n",
			full_name, full_name);
		return NULL;
	}
	return full;
}

/* has_key reports whether an environ entry assigns key. */
static int has_key(const char *entry, const char *key) {
	size_t n = strlen(key);
	return strncmp(entry, key, n) == 0 && entry[n] == '=';
}

/* env_with is environ without the entries that assign any of drop (NULL
 * ended), then add (NULL ended); NULL when out of memory. */
static char **env_with(const char *const *drop, char *const *add) {
	size_t count = 0, nadd = 0;
	while (environ[count]) {
		count++;
	}
	while (add[nadd]) {
		nadd++;
	}
	char **env = malloc((count + nadd + 1) * sizeof *env);
	if (!env) {
		return NULL;
	}
	size_t k = 0;
	for (size_t i = 0; i < count; i++) {
		int keep = 1;
		for (const char *const *d = drop; *d && keep; d++) {
			keep = !has_key(environ[i], *d);
		}
		if (keep) {
			env[k++] = environ[i];
		}
	}
	for (size_t i = 0; i < nadd; i++) {
		env[k++] = add[i];
	}
	env[k] = NULL;
	return env;
}

/* self_entry is "LEDGER_WRAPPER=<list>:<self>", the list there is with
 * this front's own file appended. */
static char *self_entry(const char *self) {
	const char *prev = getenv_first("LEDGER_WRAPPER");
	size_t len = sizeof "LEDGER_WRAPPER=" + strlen(prev) + 1 + strlen(self);
	char *mine = malloc(len);
	if (mine) {
		snprintf(mine, len, "LEDGER_WRAPPER=%s%s%s", prev, *prev ? ":" : "", self);
	}
	return mine;
}

/* run_full hands argv, unchanged, to ledger_docker-full, with environ
 * and LEDGER_WRAPPER=<self> (appended to any list there is, which is
 * dropped: one assignment only). */
static int run_full(char **argv) {
	char self[PATH_MAX];
	const char *full = full_path(self, sizeof self);
	if (!full) {
		return exit_unavailable;
	}
	const char *const drop[] = {"LEDGER_WRAPPER", NULL};
	char *add[] = {self_entry(self), NULL};
	char **env = add[0] ? env_with(drop, add) : NULL;
	if (!env) {
		say("out of memory", "", "", "\nNothing was run.");
		return exit_unavailable;
	}
	execve(full, argv, env);
	say("run ", full, ": ", errtext(errno));
	fprintf(stderr, "Nothing was run. Install ledger-docker again (./install.sh) or set LEDGER_WRAPPER_FULL.\n");
	return exit_unavailable;
}

/* socket_base is apiguard.SocketDir: $XDG_RUNTIME_DIR when it is an
 * absolute path to a folder of this user's, else Go's os.TempDir ($TMPDIR,
 * else /tmp); NULL when that is not an absolute path (the Go wrapper then
 * makes the socket). */
static const char *socket_base(void) {
	const char *run = getenv_first("XDG_RUNTIME_DIR");
	struct stat st;
	if (run[0] == '/' && stat(run, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == getuid()) {
		return run;
	}
	const char *tmp = getenv_first("TMPDIR");
	if (!*tmp) {
		return "/tmp";
	}
	return tmp[0] == '/' ? tmp : NULL;
}

/* run_guarded starts the real docker behind a fresh guard socket and
 * hands the socket and the child to the Go wrapper (see the top of this
 * file). It returns -1, having started nothing, when it cannot (no real
 * docker, no socket folder, a path too long for a socket): run_full then
 * takes the command line and says why where it has to. */
static int run_guarded(char **argv) {
	const char *real = find_real();
	if (!real || (*getenv_first("LEDGER_REAL_DOCKER") && not_real(real))) {
		return -1;
	}
	char self[PATH_MAX];
	const char *full = full_path(self, sizeof self);
	if (!full) {
		return exit_unavailable;
	}
	const char *sbase = socket_base();
	if (!sbase) {
		return -1;
	}
	size_t n = strlen(sbase) + sizeof "/ledger-guard-XXXXXX";
	char *dir = malloc(n);
	if (!dir) {
		return -1;
	}
	snprintf(dir, n, "%s/ledger-guard-XXXXXX", sbase);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(dir) + sizeof "/docker.sock" > sizeof addr.sun_path || !mkdtemp(dir)) {
		return -1;
	}
	snprintf(addr.sun_path, sizeof addr.sun_path, "%s/docker.sock", dir);
	/* 0700 whatever the umask; the socket's descriptor above stdio (a
	 * closed stdin would otherwise get it) */
	int fd = chmod(dir, 0700) == 0 ? socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) : -1;
	if (fd >= 0 && fd < 3) {
		int high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		close(fd);
		fd = high;
	}
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, SOMAXCONN) != 0) {
		if (fd >= 0) {
			close(fd);
		}
		unlink(addr.sun_path);
		rmdir(dir);
		return -1;
	}
	/* the child's environment: guardrun's childEnv(WithoutSelf(env), host) */
	size_t hn = sizeof "DOCKER_HOST=unix://" + strlen(addr.sun_path);
	char *host = malloc(hn);
	const char *const child_drop[] = {"DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH",
					  "DOCKER_TLS", "LEDGER_WRAPPER", "LEDGER_FRONT_CHILD", NULL};
	char *child_add[] = {host, "DOCKER_TLS_VERIFY=", "DOCKER_CERT_PATH=", "DOCKER_TLS=", NULL};
	char **child_env = NULL;
	if (host) {
		snprintf(host, hn, "DOCKER_HOST=unix://%s", addr.sun_path);
		child_env = env_with(child_drop, child_add);
	}
	int argc = 0;
	while (argv[argc]) {
		argc++;
	}
	char **args = malloc(((size_t)argc + 1) * sizeof *args);
	char *mine = self_entry(self);
	char *front_child = malloc(64);
	if (!child_env || !args || !mine || !front_child) {
		close(fd);
		unlink(addr.sun_path);
		rmdir(dir);
		return -1;
	}
	args[0] = "docker";
	for (int i = 1; i <= argc; i++) {
		args[i] = argv[i];
	}
	pid_t pid = fork();
	if (pid < 0) {
		close(fd);
		unlink(addr.sun_path);
		rmdir(dir);
		return -1;
	}
	if (pid == 0) {
		/* guardrun.StartChild: without a terminal, a process group of its
		 * own (the guard passes every signal on, once) */
		if (!isatty(0) && !isatty(1) && !isatty(2)) {
			setpgid(0, 0);
		}
		execve(real, args, child_env); /* fd is close-on-exec */
		say("run ", real, ": ", errtext(errno));
		_exit(exit_not_found);
	}
	snprintf(front_child, 64, "LEDGER_FRONT_CHILD=%d:%d", (int)pid, fd);
	const char *const full_drop[] = {"LEDGER_WRAPPER", "LEDGER_FRONT_CHILD", NULL};
	char *full_add[] = {mine, front_child, NULL};
	char **full_env = env_with(full_drop, full_add);
	if (full_env && fcntl(fd, F_SETFD, 0) == 0) {
		execve(full, argv, full_env);
	}
	int err = errno;
	/* the Go wrapper did not start: the child must not wait for it */
	close(fd);
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
	}
	unlink(addr.sun_path);
	rmdir(dir);
	say("run ", full, ": ", errtext(err));
	fprintf(stderr, "Nothing was run. Install ledger-docker again (./install.sh) or set LEDGER_WRAPPER_FULL.\n");
	return exit_unavailable;
}

int main(int argc, char **argv) {
	if (argc == 2 && strcmp(argv[1], handshake_arg) == 0) {
		/* not full_answer: this front is not the Go wrapper */
		fputs(front_answer, stdout);
		return 0;
	}
	if (!passes_through(argc, argv)) {
		if (starts_at_front(argc, argv)) {
			int r = run_guarded(argv);
			if (r >= 0) {
				return r;
			}
		}
		return run_full(argv);
	}
	const char *real = find_real();
	if (!real) {
		say("no real docker found on PATH (ledger_docker and its shims are skipped; set LEDGER_REAL_DOCKER)",
		    "", "", "");
		return exit_not_found;
	}
	if (*getenv_first("LEDGER_REAL_DOCKER") && not_real(real)) {
		say("LEDGER_REAL_DOCKER=", real, " is ledger_docker, not the real docker", "");
		fprintf(stderr, "Nothing was run. Point LEDGER_REAL_DOCKER at the real docker or unset it.\n");
		return exit_unavailable;
	}
	char **args = malloc(((size_t)argc + 1) * sizeof *args);
	if (!args) {
		say("out of memory", "", "", "");
		return exit_not_found;
	}
	args[0] = "docker";
	for (int i = 1; i < argc; i++) {
		args[i] = argv[i];
	}
	args[argc] = NULL;
	execve(real, args, environ);
	say("run ", real, ": ", errtext(errno));
	return exit_not_found;
}
