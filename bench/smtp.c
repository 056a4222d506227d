/* bench/smtp.c: sends N small mails (about 400 bytes) through sender_smtp,
 * one process, one sender, and prints the time taken and the rate.
 * usage: smtp PORT N   (smtp://127.0.0.1:PORT, no TLS, no AUTH)
 * Run by bench/smtp.sh, which compares it with smtp-source. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "log.h"
#include "sender.h"
#include "util.h"

int main(int argc, char **argv)
{
	if (argc != 3) {
		fputs("usage: smtp PORT N\n", stderr);
		return 2;
	}
	int port = atoi(argv[1]), n = atoi(argv[2]);
	log_open("bench", 1, LOGL_DEBUG); /* the sender's connection count */
	struct conf cfg = {0};
	char *url = xasprintf("smtp://127.0.0.1:%d", port);
	cfg.smtp.url = url;
	cfg.smtp.host = (char *)"127.0.0.1";
	cfg.smtp.port = port;

	struct buf m = {0};
	buf_adds(&m, "From: CGEN Exemptions <cgen@cdt.ca.gov>\r\nTo: someone@example.org\r\n"
		     "Subject: CGEN-2026-0001: request received\r\nMessage-ID: <bench@cdt.ca.gov>\r\n"
		     "\r\n");
	while (m.len + 28 <= 400)
		buf_adds(&m, "Your request was received.\r\n");
	struct strv rcpts = {0};
	strv_add(&rcpts, "someone@example.org");

	void *st;
	char *err = NULL;
	if (sender_smtp.open(&cfg, &st, &err) != 0) {
		fprintf(stderr, "bench: %s\n", err);
		return 1;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int failed = 0;
	for (int i = 0; i < n; i++)
		if (sender_smtp.send(st, i, "cgen@cdt.ca.gov", &rcpts, m.s, m.len, &err) != SENDER_OK) {
			fprintf(stderr, "bench: mail %d: %s\n", i, err);
			free(err);
			failed++;
		}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	sender_smtp.close(st);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("%d mails of %zu bytes in %.3f s: %.0f mails/s, %d failed\n", n, m.len, s, n / s,
	       failed);
	strv_free(&rcpts);
	buf_free(&m);
	free(url);
	return failed ? 1 : 0;
}
