#include "account.h"
#include "backoff.h"
#include "transport.h"
#include "unit.h"

TEST(test_backoff_doubles_caps_and_honours_retry_after)
{
	struct backoff b;
	backoff_init(&b, 5000, 30000);
	CHECK_INT(backoff_fail(&b, 0), 5000);
	CHECK_INT(backoff_fail(&b, 0), 10000);
	CHECK_INT(backoff_fail(&b, 0), 20000);
	CHECK_INT(backoff_fail(&b, 0), 30000);
	CHECK_INT(backoff_fail(&b, 0), 30000);
	/* A retry-after longer than the schedule wins, even over the cap; a shorter one does not shorten it. */
	CHECK_INT(backoff_fail(&b, 3600000), 3600000);
	CHECK_INT(backoff_fail(&b, 1000), 30000);
	backoff_reset(&b);
	CHECK_INT(backoff_fail(&b, 0), 5000);
	/* Doubling never wraps around. */
	backoff_init(&b, UINT64_MAX / 2 + 1, UINT64_MAX);
	backoff_fail(&b, 0);
	CHECK(backoff_fail(&b, 0) == UINT64_MAX);
}

TEST(test_backoff_jitter_stays_in_band)
{
	for (int i = 0; i < 1000; i++) {
		uint64_t j = backoff_jitter(300000, 20);
		CHECK(j >= 270000 && j <= 330000);
	}
	CHECK_INT(backoff_jitter(0, 20), 0);
	CHECK_INT(backoff_jitter(1000, 0), 1000);
}

TEST(test_account_names)
{
	CHECK(config_account_name_ok("default"));
	CHECK(config_account_name_ok("work_seat-2"));
	CHECK(config_account_name_ok("abcdefghijklmnopqrstuvwxyz012345"));
	CHECK(!config_account_name_ok("abcdefghijklmnopqrstuvwxyz0123456"));
	CHECK(!config_account_name_ok(""));
	CHECK(!config_account_name_ok("Work"));
	CHECK(!config_account_name_ok("a b"));
	CHECK(!config_account_name_ok("a=b"));
	CHECK(!config_account_name_ok("a\"b"));
}

TEST(test_transport_plain_passes_bytes_through)
{
	struct transport t;
	char out[8];
	transport_plain_init(&t);
	CHECK_INT(transport_handshake(&t), 0);
	CHECK(transport_version(&t) == NULL);
	CHECK_INT(transport_read(&t, out, sizeof out), TRANSPORT_AGAIN);
	/* One byte is one byte, never "nothing yet". */
	transport_lend(&t, "x", 1);
	CHECK_INT(transport_read(&t, out, sizeof out), 1);
	CHECK_INT(out[0], 'x');
	/* What a pass does not take is kept, and comes before the next lent bytes. */
	transport_lend(&t, "abcdefghij", 10);
	CHECK_INT(transport_read(&t, out, 4), 4);
	CHECK_INT(transport_keep(&t), 0);
	CHECK_INT(transport_buffered(&t), 6);
	transport_lend(&t, "KL", 2);
	CHECK_INT(transport_read(&t, out, sizeof out), 6);
	CHECK(memcmp(out, "efghij", 6) == 0);
	CHECK_INT(transport_read(&t, out, sizeof out), 2);
	CHECK(memcmp(out, "KL", 2) == 0);
	t.eof = 1;
	CHECK_INT(transport_read(&t, out, sizeof out), 0);
	CHECK_INT(transport_write(&t, "hello", 5), 5);
	CHECK_INT(buf_size(&t.out), 5);
	CHECK_INT(transport_pending(&t), 0);
	transport_free(&t);
}
