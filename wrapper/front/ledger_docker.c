/*
 * ledger_docker's front: the first thing `docker` runs once ledger-docker is
 * installed. It only screens argv and finds the real docker; it decides
 * nothing that could delete anything.
 *
 * - A command line that could be destructive goes to the Go wrapper,
 *   ledger_docker-full, with the same argv (argv[0] included) and
 *   environment, plus LEDGER_WRAPPER naming this front so that no later
 *   stage takes it for the real docker. "Could be" is a superset of
 *   intercept.Parse(...).Destructive(): argv[0] is docker-compose,
 *   LEDGER_EXPLAIN is set, or any argument is exactly one of the docker
 *   subcommands that can lose a volume (volume, system, rm, container,
 *   compose).
 * - Everything else is exec'd at once as the real docker, found exactly as
 *   internal/wrapper.FindReal finds it, with argv[0] "docker" and the
 *   environment unchanged.
 *
 * It exists because a Go program's start-up alone costs more than the 5%
 * the pass-through may add to `docker ps` (README, "Why a C front"). No
 * shell, no system(): argv-only exec.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

enum { exit_unavailable = 69, exit_not_found = 127 };

static const char full_name[] = "ledger_docker-full";

/* getenv_last is the value of the last KEY=... in environ (Go's
 * wrapper.Getenv: the last assignment wins), "" when there is none. */
static const char *getenv_last(const char *key) {
	size_t n = strlen(key);
	const char *v = "";
	for (char **e = environ; *e; e++) {
		if (strncmp(*e, key, n) == 0 && (*e)[n] == '=') {
			v = *e + n + 1;
		}
	}
	return v;
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

/* is_compose: argv[0]'s base name, without ".exe", is docker-compose. */
static int is_compose(const char *argv0) {
	char buf[NAME_MAX + 1];
	const char *b = base(argv0, buf, sizeof buf);
	return strcmp(b, "docker-compose") == 0 || strcmp(b, "docker-compose.exe") == 0;
}

/* needs_full reports whether the command line may be destructive. */
static int needs_full(int argc, char **argv) {
	static const char *const words[] = {"volume", "system", "rm", "container", "compose"};
	if (argc > 0 && is_compose(argv[0])) {
		return 1;
	}
	if (*getenv_last("LEDGER_EXPLAIN")) {
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		for (size_t w = 0; w < sizeof words / sizeof words[0]; w++) {
			if (strcmp(argv[i], words[w]) == 0) {
				return 1;
			}
		}
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
	const char *d = getenv_last("LEDGER_SHIM_DIR");
	if (*d) {
		return strdup(d);
	}
	const char *xdg = getenv_last("XDG_DATA_HOME");
	const char *home = getenv_last("HOME");
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
	const char *override = getenv_last("LEDGER_REAL_DOCKER");
	if (*override) {
		return override;
	}
	struct stat selves[16];
	int nselves = 0;
	char *list = strdup(getenv_last("LEDGER_WRAPPER"));
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

	char *path = strdup(getenv_last("PATH"));
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

/* run_full hands argv, unchanged, to ledger_docker-full: $LEDGER_WRAPPER_FULL,
 * else the file of that name beside this program's own file. */
static int run_full(char **argv) {
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n < 0) {
		say("cannot find ledger_docker's own file: ", errtext(errno), "", "\nNothing was run.");
		return exit_unavailable;
	}
	self[n] = '\0';
	const char *full = getenv_last("LEDGER_WRAPPER_FULL");
	if (!*full) {
		char *slash = strrchr(self, '/');
		size_t dirlen = slash ? (size_t)(slash - self) : 0;
		char *p = malloc(dirlen + sizeof full_name + 1);
		if (!p) {
			say("out of memory", "", "", "\nNothing was run.");
			return exit_unavailable;
		}
		memcpy(p, self, dirlen);
		p[dirlen] = '/';
		memcpy(p + dirlen + 1, full_name, sizeof full_name);
		full = p;
	}
	/* environ plus LEDGER_WRAPPER=<self>, appended to any list there is */
	size_t count = 0;
	while (environ[count]) {
		count++;
	}
	char **env = malloc((count + 2) * sizeof *env);
	const char *prev = getenv_last("LEDGER_WRAPPER");
	size_t len = sizeof "LEDGER_WRAPPER=" + strlen(prev) + 1 + strlen(self);
	char *mine = malloc(len);
	if (!env || !mine) {
		say("out of memory", "", "", "\nNothing was run.");
		return exit_unavailable;
	}
	snprintf(mine, len, "LEDGER_WRAPPER=%s%s%s", prev, *prev ? ":" : "", self);
	memcpy(env, environ, count * sizeof *env);
	env[count] = mine;
	env[count + 1] = NULL;
	execve(full, argv, env);
	say("run ", full, ": ", errtext(errno));
	fprintf(stderr, "Nothing was run. Install ledger-docker again (./install.sh) or set LEDGER_WRAPPER_FULL.\n");
	return exit_unavailable;
}

int main(int argc, char **argv) {
	if (needs_full(argc, argv)) {
		return run_full(argv);
	}
	const char *real = find_real();
	if (!real) {
		say("no real docker found on PATH (ledger_docker and its shims are skipped; set LEDGER_REAL_DOCKER)",
		    "", "", "");
		return exit_not_found;
	}
	char **args = malloc((size_t)(argc > 0 ? argc + 1 : 2) * sizeof *args);
	if (!args) {
		say("out of memory", "", "", "");
		return exit_not_found;
	}
	args[0] = "docker";
	for (int i = 1; i < argc; i++) {
		args[i] = argv[i];
	}
	args[argc > 0 ? argc : 1] = NULL;
	execve(real, args, environ);
	say("run ", real, ": ", errtext(errno));
	return exit_not_found;
}
