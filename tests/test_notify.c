/* test_notify.c: the service manager's notification protocol (notify.c)
 * against a real datagram socket, as systemd listens on it. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "notify.h"
#include "util.h"

/* A socket bound at path (or, with a leading '@', in the abstract
 * namespace); returns its fd. */
static int listen_at(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n = strlen(path);
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	assert_int_equal(bind(fd, (struct sockaddr *)&sa,
			      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)), 0);
	return fd;
}

static void expect_datagram(int fd, const char *want)
{
	char buf[256];
	ssize_t r = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);
	assert_true(r >= 0);
	buf[r] = '\0';
	assert_string_equal(buf, want);
}

static void test_send(void **state)
{
	(void)state;
	char dir[] = "/tmp/cgen-notify.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *path = xasprintf("%s/notify", dir);
	int fd = listen_at(path);
	setenv("NOTIFY_SOCKET", path, 1);
	assert_int_equal(notify_send("READY=1\nSTATUS=started"), 0);
	expect_datagram(fd, "READY=1\nSTATUS=started");
	assert_int_equal(notify_send("WATCHDOG=1"), 0);
	expect_datagram(fd, "WATCHDOG=1");
	close(fd);
	unlink(path);

	/* the abstract namespace: "@name" */
	char *abs = xasprintf("@cgen-notify-test-%ld", (long)getpid());
	fd = listen_at(abs);
	setenv("NOTIFY_SOCKET", abs, 1);
	assert_int_equal(notify_send("STOPPING=1"), 0);
	expect_datagram(fd, "STOPPING=1");
	close(fd);

	/* nobody listens: an error, not a crash; no socket: nothing to do */
	setenv("NOTIFY_SOCKET", path, 1);
	assert_int_equal(notify_send("READY=1"), -1);
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	assert_int_equal(notify_send("READY=1"), 0);
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(notify_send("READY=1"), 0);
	rmdir(dir);
	free(abs);
	free(path);
}

static void test_watchdog(void **state)
{
	(void)state;
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	assert_int_equal(notify_watchdog_sec(), 0);
	setenv("WATCHDOG_USEC", "600000000", 1);
	assert_int_equal(notify_watchdog_sec(), 600);
	setenv("WATCHDOG_USEC", "300", 1);
	assert_int_equal(notify_watchdog_sec(), 1);
	char pid[32];
	snprintf(pid, sizeof pid, "%ld", (long)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	setenv("WATCHDOG_USEC", "20000000", 1);
	assert_int_equal(notify_watchdog_sec(), 20);
	snprintf(pid, sizeof pid, "%ld", (long)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	assert_int_equal(notify_watchdog_sec(), 0); /* meant for another process */
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_send),
		cmocka_unit_test(test_watchdog),
	};
	return cmocka_run_group_tests_name("notify", tests, NULL, NULL);
}
