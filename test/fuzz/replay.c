/* replay: runs a fuzz target's LLVMFuzzerTestOneInput once on each file named (directories: every regular file in
 * them), without libFuzzer. Built with the project's own compiler and flags, it lets valgrind (or a plain build)
 * check the seed corpora and whatever the fuzzer found:
 *
 *   cc ... -o build/replay/fuzz_request test/fuzz/fuzz_request.c test/fuzz/replay.c <lib objects> <libs>
 *   valgrind -q --error-exitcode=99 build/replay/fuzz_request test/fuzz/corpus/fuzz_request build/fuzz/corpus/...
 *
 * Exit status 0 when every input ran (a target that finds a broken invariant aborts). */
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static long ran;
static const char *current; /* the input being run, named when it crashes */

static void on_crash(int sig)
{
	if (current) {
		static const char msg[] = "\nreplay: crashed on input ";
		(void)!write(2, msg, sizeof msg - 1);
		(void)!write(2, current, strlen(current));
		(void)!write(2, "\n", 1);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return -1;
	}
	size_t cap = 4096, len = 0;
	uint8_t *buf = malloc(cap);
	for (size_t n; buf && (n = fread(buf + len, 1, cap - len, f)) > 0;) {
		len += n;
		if (len == cap) {
			uint8_t *b = realloc(buf, cap *= 2);
			if (!b)
				free(buf);
			buf = b;
		}
	}
	fclose(f);
	if (!buf) {
		fprintf(stderr, "%s: out of memory\n", path);
		return -1;
	}
	/* An allocation of exactly the input's size, as libFuzzer hands it over. */
	uint8_t *exact = malloc(len ? len : 1);
	if (!exact) {
		free(buf);
		return -1;
	}
	memcpy(exact, buf, len);
	free(buf);
	current = path;
	LLVMFuzzerTestOneInput(exact, len);
	current = NULL;
	free(exact);
	ran++;
	return 0;
}

static int run_path(const char *path)
{
	struct stat st;
	if (stat(path, &st)) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path);
	DIR *d = opendir(path);
	if (!d) {
		perror(path);
		return -1;
	}
	int rc = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		char p[4096];
		snprintf(p, sizeof p, "%s/%s", path, e->d_name);
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
			rc |= run_file(p);
	}
	closedir(d);
	return rc;
}

int main(int argc, char **argv)
{
	signal(SIGABRT, on_crash);
	signal(SIGSEGV, on_crash);
	signal(SIGBUS, on_crash);
	signal(SIGFPE, on_crash);
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	int rc = 0;
	for (int i = 1; i < argc; i++)
		rc |= run_path(argv[i]);
	fprintf(stderr, "replay: %ld inputs\n", ran);
	return rc ? 1 : 0;
}
