/* log: batching. Lines go to a file or a pipe instead of stderr (log_output); a private loop stands in for the
 * proxy's, and uv_run(UV_RUN_NOWAIT) is one loop turn. */
#include "log.h"
#include "unit.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static off_t size_of(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 ? st.st_size : -1;
}

/* The whole file, NUL-terminated (the caller frees it). */
static char *contents(int fd)
{
	off_t n = size_of(fd);
	char *s = malloc((size_t)n + 1);
	if (!s)
		return NULL;
	ssize_t got = pread(fd, s, (size_t)n, 0);
	s[got > 0 ? got : 0] = 0;
	return s;
}

static int temp_file(void)
{
	char path[] = "/tmp/ap-unit-log.XXXXXX";
	int fd = mkstemp(path);
	if (fd >= 0)
		unlink(path);
	return fd;
}

static void line(int i)
{
	struct log_line l;
	log_begin(&l, AP_INFO, "line");
	log_int(&l, "seq", i);
	log_end(&l);
}

static void keep_alive_cb(uv_timer_t *t) { (void)t; }

/* One loop turn with a referenced timer, so that uv_run has a live loop to turn even though the log's own handles
 * are unreferenced (they never keep a loop alive). */
static void one_turn(uv_loop_t *loop, uv_timer_t *keep)
{
	uv_timer_start(keep, keep_alive_cb, 1000, 0);
	uv_run(loop, UV_RUN_NOWAIT);
	uv_timer_stop(keep);
}

/* Back to what the runner set: stderr, errors only, no batching (the handles closed and the loop closed). */
static void restore(uv_loop_t *loop, uv_timer_t *keep)
{
	log_batch_stop();
	uv_close((uv_handle_t *)keep, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_loop_close(loop);
	log_output(STDERR_FILENO);
	log_setup(AP_ERROR, 0);
}

static void batched_body(uv_loop_t *loop, uv_timer_t *keep, int fd)
{
	line(1);
	CHECK(size_of(fd) > 0); /* before the loop runs: written at once */
	off_t before = size_of(fd);
	log_batch_start(loop);
	line(2);
	line(3);
	CHECK_INT(size_of(fd), before); /* batched */
	one_turn(loop, keep);
	char *s = contents(fd);
	CHECK(s != NULL);
	CHECK_CONTAINS(s, "seq=1\n");
	CHECK_CONTAINS(s, "seq=2\n");
	CHECK(strstr(s, "seq=2\n") < strstr(s, "seq=3\n"));
	free(s);
	before = size_of(fd);
	one_turn(loop, keep); /* nothing logged: nothing written */
	CHECK_INT(size_of(fd), before);
	line(4);
	log_msg(AP_ERROR, "bad", "errors go out at once");
	CHECK(size_of(fd) > before);
	s = contents(fd);
	const char *four = strstr(s, "seq=4\n"), *bad = strstr(s, " level=error event=bad msg=\"errors go out at once\"\n");
	int in_order = four && bad && four < bad;
	free(s);
	CHECK(in_order);
	log_batch_stop();
	before = size_of(fd);
	line(5); /* after the handles are closed: at once again */
	CHECK(size_of(fd) > before);
}

TEST(test_log_batched_until_the_loop_turn_ends)
{
	uv_loop_t loop;
	uv_timer_t keep;
	uv_loop_init(&loop);
	uv_timer_init(&loop, &keep);
	int fd = temp_file();
	log_output(fd);
	log_setup(AP_INFO, 0);
	batched_body(&loop, &keep, fd);
	restore(&loop, &keep);
	close(fd);
}

static void overflow_body(uv_loop_t *loop, uv_timer_t *keep, int fd)
{
	log_batch_start(loop);
	int n = 0;
	while (size_of(fd) == 0 && n < 10000)
		line(n++);
	/* The buffer was written when a line would not fit: whole lines only, well before the loop turned. */
	CHECK(n > LOG_OUT_SIZE / 64 && n < 10000);
	off_t first = size_of(fd);
	CHECK(first > LOG_OUT_SIZE / 2 && first <= LOG_OUT_SIZE);
	char *s = contents(fd);
	CHECK(s != NULL);
	CHECK(s[first - 1] == '\n');
	free(s);
	for (int i = 0; i < 100; i++)
		line(n++);
	one_turn(loop, keep);
	s = contents(fd);
	CHECK(s != NULL);
	/* Every line once, in order. */
	const char *p = s;
	for (int i = 0; i < n; i++) {
		char want[32];
		snprintf(want, sizeof want, " seq=%d\n", i);
		const char *at = strstr(p, want);
		if (!at) {
			free(s);
			FAIL_AT("line %d missing or out of order", i);
		}
		p = at + strlen(want);
	}
	CHECK_INT(*p, 0);
	free(s);
}

TEST(test_log_overflow_writes_at_once_in_order)
{
	uv_loop_t loop;
	uv_timer_t keep;
	uv_loop_init(&loop);
	uv_timer_init(&loop, &keep);
	int fd = temp_file();
	log_output(fd);
	log_setup(AP_INFO, 0);
	overflow_body(&loop, &keep, fd);
	restore(&loop, &keep);
	close(fd);
}

/* A non-blocking pipe that fills up: the rest waits in the buffer (nothing dropped, order kept) and goes out on a
 * later turn once the reader has caught up. Then the reader goes away: what is buffered is dropped and counted. */
static void pipe_body(uv_loop_t *loop, uv_timer_t *keep, int p[2])
{
	CHECK(fcntl(p[1], F_SETPIPE_SZ, 4096) >= 0);
	log_batch_start(loop);
	int n = 0;
	size_t want_len = 0;
	char want[16384];
	while (want_len < 8000) {
		line(n);
		want_len += (size_t)snprintf(want + want_len, sizeof want - want_len, " seq=%d\n", n);
		n++;
	}
	uint64_t dropped = log_dropped_bytes();
	char got[65536];
	size_t got_len = 0;
	for (int turn = 0; turn < 20; turn++) {
		one_turn(loop, keep);
		ssize_t r;
		while ((r = read(p[0], got + got_len, sizeof got - 1 - got_len)) > 0)
			got_len += (size_t)r;
		if (turn == 0)
			CHECK(got_len <= 4096 && got_len < want_len); /* the pipe took a part: the rest waited */
	}
	got[got_len] = 0;
	CHECK_INT(log_dropped_bytes(), dropped);
	/* Every line whole and in order. */
	const char *at = got;
	for (int i = 0; i < n; i++) {
		char seq[32];
		snprintf(seq, sizeof seq, " seq=%d\n", i);
		at = strstr(at, seq);
		if (!at)
			FAIL_AT("line %d missing or out of order", i);
	}
	close(p[0]);
	p[0] = -1;
	line(n);
	one_turn(loop, keep);
	CHECK(log_dropped_bytes() > dropped); /* EPIPE: dropped, counted, no spin */
}

TEST(test_log_full_pipe_retries_and_gone_reader_drops)
{
	uv_loop_t loop;
	uv_timer_t keep;
	int p[2];
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	CHECK(pipe2(p, O_NONBLOCK) == 0);
	uv_loop_init(&loop);
	uv_timer_init(&loop, &keep);
	log_output(p[1]);
	log_setup(AP_INFO, 0);
	pipe_body(&loop, &keep, p);
	restore(&loop, &keep);
	if (p[0] >= 0)
		close(p[0]);
	close(p[1]);
	signal(SIGPIPE, old);
}

TEST(test_log_numbers_and_time_format)
{
	int fd = temp_file();
	CHECK(fd >= 0);
	log_output(fd);
	log_setup(AP_INFO, 1);
	struct log_line l;
	log_begin(&l, AP_INFO, "n");
	log_int(&l, "zero", 0);
	log_int(&l, "neg", -42);
	log_int(&l, "big", 9223372036854775807LL);
	log_int(&l, "min", -9223372036854775807LL - 1);
	log_end(&l);
	char *s = contents(fd);
	log_output(STDERR_FILENO);
	log_setup(AP_ERROR, 0);
	close(fd);
	CHECK(s != NULL);
	CHECK(strstr(s, "\"zero\":0,\"neg\":-42,\"big\":9223372036854775807,\"min\":-9223372036854775808}") != NULL);
	/* {"time":"YYYY-MM-DDTHH:MM:SS.mmmZ" */
	const char *t = strstr(s, "\"time\":\"");
	CHECK(t != NULL);
	t += 8;
	CHECK(strlen(t) > 24 && t[4] == '-' && t[7] == '-' && t[10] == 'T' && t[13] == ':' && t[16] == ':' &&
	      t[19] == '.' && t[23] == 'Z' && t[24] == '"');
	free(s);
}

/* Text lines are logfmt: every field keyed, values quoted only when they must be, '"' and backslash escaped inside
 * quotes; the JSON line carries the same keys. */
TEST(test_log_text_is_logfmt)
{
	int fd = temp_file();
	CHECK(fd >= 0);
	log_output(fd);
	log_setup(AP_INFO, 0);
	struct log_line l;
	log_begin(&l, AP_WARN, "listening");
	log_str(&l, "addr", "127.0.0.1:8080");
	log_str(&l, "msg", "two words");
	log_str(&l, "eq", "a=b");
	log_str(&l, "q", "say \"hi\" c:\\x");
	log_str(&l, "bs", "c:\\x");
	log_str(&l, "empty", "");
	log_str(&l, "none", NULL);
	log_strn(&l, "nl", "a\nb", 3);
	log_int(&l, "n", -7);
	log_end(&l);
	log_setup(AP_INFO, 1);
	log_begin(&l, AP_INFO, "listening");
	log_str(&l, "addr", "127.0.0.1:8080");
	log_end(&l);
	char *s = contents(fd);
	log_output(STDERR_FILENO);
	log_setup(AP_ERROR, 0);
	close(fd);
	CHECK(s != NULL);
	CHECK(strncmp(s, "time=", 5) == 0);
	const char *t = s + 5; /* YYYY-MM-DDTHH:MM:SS.mmmZ */
	CHECK(t[4] == '-' && t[10] == 'T' && t[19] == '.' && t[23] == 'Z' && t[24] == ' ');
	CHECK_CONTAINS(s, "Z level=warn event=listening addr=127.0.0.1:8080 msg=\"two words\" eq=\"a=b\" "
			  "q=\"say \\\"hi\\\" c:\\\\x\" bs=c:\\x empty=\"\" none=- nl=\"a\\nb\" n=-7\n");
	CHECK_CONTAINS(s, "\",\"level\":\"info\",\"event\":\"listening\",\"addr\":\"127.0.0.1:8080\"}\n");
	free(s);
}
