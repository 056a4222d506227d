/* sendlog.h: the send log, STORE.sending beside the store ([store] path).
 * Between a round's "being sent" mark (store_outbox_sending) and the commit
 * of its results, it says how far the round got, one line per step:
 *
 *   R <started>   a round begins; started: the mark's time in the store
 *   M <id>        outbox row id is in the round (marked as being sent)
 *   T <id>        the transfer of outbox row id begins
 *   S <id>        the server accepted it
 *   F <id>        it failed (not accepted)
 *
 * Lines are written, not synced: a kill -9 loses none of them (the kernel
 * holds them), a power cut may lose the tail, after which a row is in doubt
 * as without the log. After a crash the log tells the rows the server took
 * (recorded as sent, never sent again), those it never saw (sent now) and
 * the one in flight (sent again with the same Message-ID). Emptied once the
 * round's results are committed. Mode 0600. */
#ifndef CGEN_SENDLOG_H
#define CGEN_SENDLOG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* "STORE.sending" (allocated). */
char *sendlog_path(const char *store_path);
/* Opens (creates) the log for appending; the descriptor, or -1 with *err
 * allocated. */
int sendlog_open(const char *store_path, char **err);
/* One line; 0, or -1 (errno set; the log is a help, a failure only means
 * rows are in doubt after a crash). */
int sendlog_round(int fd, time_t started, const int64_t *ids, size_t n);
int sendlog_begin(int fd, int64_t id);
int sendlog_done(int fd, int64_t id, int accepted);
/* Empties the log. 0, or -1. */
int sendlog_clear(int fd);

enum sendlog_state {
	SENDLOG_UNKNOWN = -1,    /* no log, another round, or not named: cannot tell */
	SENDLOG_NOT_SENT = 0,    /* in the round and never begun, or failed */
	SENDLOG_SENT = 1,        /* the server accepted it */
	SENDLOG_IN_FLIGHT = 2    /* begun, no answer recorded */
};

struct sendlog_view {
	int have_round;          /* a round line was read */
	time_t started;          /* of the last round */
	int64_t *ids;            /* the last round's rows, as named... */
	signed char *state;      /* ...with their enum sendlog_state */
	size_t n;
};

/* Reads the store's log (its last round). 0 (an absent log is an empty
 * view), or -1 with *err allocated. */
int sendlog_read(const char *store_path, struct sendlog_view *v, char **err);
/* What the view says of row id marked at started. */
enum sendlog_state sendlog_state_of(const struct sendlog_view *v, int64_t id, time_t started);
void sendlog_view_free(struct sendlog_view *v);

#endif
