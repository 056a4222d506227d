/* notify.h: telling the service manager how cgend is (sd_notify(3)'s
 * protocol: one datagram of "KEY=VALUE" lines to $NOTIFY_SOCKET). Without
 * that variable (not started by systemd with Type=notify) both do nothing. */
#ifndef CGEN_NOTIFY_H
#define CGEN_NOTIFY_H

/* Sends state, e.g. "READY=1\nSTATUS=waiting for mail". 0 when sent or
 * nothing to do, -1 when the socket refused it. */
int notify_send(const char *state);

/* The watchdog period asked for by the service manager, in seconds (rounded
 * down, at least 1), or 0 when there is none (WATCHDOG_USEC unset, or
 * WATCHDOG_PID names another process). */
unsigned notify_watchdog_sec(void);

#endif
