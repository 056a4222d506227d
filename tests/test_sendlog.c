/* test_sendlog.c: the send log beside the store (sendlog.c): what it says
 * of each row of the last round after a crash. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "sendlog.h"
#include "util.h"

static char *dir_new(void)
{
	char tmpl[] = "/tmp/cgsl.XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	return xstrdup(tmpl);
}

static void dir_free(char *d)
{
	char *cmd = xasprintf("rm -rf '%s'", d);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(d);
}

static void test_round(void **state)
{
	(void)state;
	char *d = dir_new(), *store = xasprintf("%s/cgen.db", d);
	char *err = NULL;
	struct sendlog_view v;
	/* no log: nothing can be told */
	assert_int_equal(sendlog_read(store, &v, &err), 0);
	assert_int_equal(sendlog_state_of(&v, 1, 100), SENDLOG_UNKNOWN);
	sendlog_view_free(&v);

	int fd = sendlog_open(store, &err);
	assert_true(fd >= 0);
	struct stat sb;
	char *p = sendlog_path(store);
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* an old round, then the last: only the last counts */
	int64_t old[] = {1, 2};
	assert_int_equal(sendlog_round(fd, 50, old, 2), 0);
	assert_int_equal(sendlog_begin(fd, 1), 0);
	int64_t ids[] = {7, 8, 9, 10};
	assert_int_equal(sendlog_round(fd, 100, ids, 4), 0);
	assert_int_equal(sendlog_begin(fd, 7), 0);
	assert_int_equal(sendlog_done(fd, 7, 1), 0);
	assert_int_equal(sendlog_begin(fd, 8), 0);
	assert_int_equal(sendlog_done(fd, 8, 0), 0);
	assert_int_equal(sendlog_begin(fd, 9), 0);
	/* killed here: 9 is in flight, 10 never begun */
	assert_int_equal(sendlog_read(store, &v, &err), 0);
	assert_int_equal(sendlog_state_of(&v, 7, 100), SENDLOG_SENT);
	assert_int_equal(sendlog_state_of(&v, 8, 100), SENDLOG_NOT_SENT);
	assert_int_equal(sendlog_state_of(&v, 9, 100), SENDLOG_IN_FLIGHT);
	assert_int_equal(sendlog_state_of(&v, 10, 100), SENDLOG_NOT_SENT);
	/* a row of another round, or marked at another time: cannot tell */
	assert_int_equal(sendlog_state_of(&v, 1, 50), SENDLOG_UNKNOWN);
	assert_int_equal(sendlog_state_of(&v, 11, 100), SENDLOG_UNKNOWN);
	assert_int_equal(sendlog_state_of(&v, 7, 101), SENDLOG_UNKNOWN);
	sendlog_view_free(&v);

	/* a tail cut by a power loss is ignored */
	FILE *f = fopen(p, "a");
	assert_non_null(f);
	fputs("S 9", f);
	fclose(f);
	assert_int_equal(sendlog_read(store, &v, &err), 0);
	assert_int_equal(sendlog_state_of(&v, 9, 100), SENDLOG_IN_FLIGHT);
	sendlog_view_free(&v);

	/* emptied after the commit: nothing to tell */
	assert_int_equal(sendlog_clear(fd), 0);
	assert_int_equal(sendlog_read(store, &v, &err), 0);
	assert_int_equal(v.have_round, 0);
	assert_int_equal(sendlog_state_of(&v, 7, 100), SENDLOG_UNKNOWN);
	sendlog_view_free(&v);
	/* appends go to the (new) end after the truncation */
	assert_int_equal(sendlog_round(fd, 200, ids, 1), 0);
	assert_int_equal(sendlog_read(store, &v, &err), 0);
	assert_int_equal(sendlog_state_of(&v, 7, 200), SENDLOG_NOT_SENT);
	sendlog_view_free(&v);
	close(fd);
	free(p);
	free(store);
	dir_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
