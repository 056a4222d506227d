#!/bin/sh
# The store busy, the clock jumping and a storm of SIGHUPs while cgend
# runs over Dovecot and SMTP: another process holds SQLite's write lock
# (BEGIN IMMEDIATE) for 5 s while mail arrives; the clock goes back an hour
# and forward an hour (--now) with mail in each; 100 SIGHUPs in one second
# to the running daemon, which must keep running and serving. The
# invariants of tests/faults/workload.py after each. FULL=1: each twice,
# more mail. TAP output.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"
. "$top_srcdir/tests/faults/common.sh"
if ! servers_available; then echo "1..0 # SKIP dovecot, openssl or aiosmtpd not installed"; exit 0; fi
T=$(mktemp -d /tmp/cgfm.XXXXXX)
DPID= LPID=
trap '[ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null; [ -n "$LPID" ] && kill "$LPID" 2>/dev/null; servers_stop "$T"; rm -rf "$T"' EXIT
faults_setup "$T" || { echo "Bail out! servers did not start"; cat "$T/dv/dovecot.log" "$T/smtp/log"; exit 1; }
if [ "$FULL" = 1 ]; then REPEAT=2 PER=40; else REPEAT=1 PER=15; fi
SEED=${SEED:-$(rand 100000)}
echo "# seed $SEED"
"$PY3" "$WL" gen "$T" "$PER" "$SEED" >/dev/null
daemon_start "$T"
check "a first batch is handled and sent" wait_idle "$T"

k=1
while [ $k -le $REPEAT ]; do
	# --- SQLite busy: a write lock held 5 s by another process ---
	"$PY3" - "$T/cgen.db" "$T/locked" <<'PY' &
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").close()
time.sleep(5)
c.execute("ROLLBACK")
PY
	LPID=$!
	_i=0; while [ ! -e "$T/locked" ] && [ $_i -lt 100 ]; do sleep 0.05; _i=$((_i + 1)); done
	check "busy $k: another process holds the store's write lock" test -e "$T/locked"
	"$PY3" "$WL" gen "$T" "$PER" $((SEED + 10 * k + 1)) >/dev/null
	sleep 2
	check "busy $k: cgend keeps running while the store is locked" alive "$DPID"
	wait "$LPID"; LPID=
	rm -f "$T/locked"
	check "busy $k: once the lock is gone all is handled and sent" wait_idle "$T"
	invariants "$T" "busy $k"

	# --- SIGHUP storm: 100 in one second ---
	_i=0
	while [ $_i -lt 100 ]; do kill -HUP "$DPID" 2>/dev/null; sleep 0.01; _i=$((_i + 1)); done
	sleep 1
	check "sighup $k: cgend is still running after 100 SIGHUPs" alive "$DPID"
	"$PY3" "$WL" gen "$T" "$PER" $((SEED + 10 * k + 2)) >/dev/null
	check "sighup $k: and serves: new mail is handled and answered" wait_idle "$T"
	invariants "$T" "sighup $k"
	daemon_stop
	is "sighup $k: SIGTERM: cgend exits 0" "$?" 0

	# --- the clock an hour back, then an hour forward ---
	advance "$T" -3600
	"$PY3" "$WL" gen "$T" "$PER" $((SEED + 10 * k + 3)) >/dev/null
	daemon_start "$T"
	check "clock back $k: mail is handled and sent" wait_idle "$T"
	daemon_stop
	invariants "$T" "clock back $k"
	advance "$T" 7200
	"$PY3" "$WL" gen "$T" "$PER" $((SEED + 10 * k + 4)) >/dev/null
	daemon_start "$T"
	check "clock forward $k: mail is handled and sent" wait_idle "$T"
	invariants "$T" "clock forward $k"
	# a day later: the digest and the reminders, once
	advance "$T" 86400
	daemon_stop
	daemon_start "$T"
	check "a day later $k: reminders and the digest go out" wait_idle "$T"
	k=$((k + 1))
done
daemon_stop
is "SIGTERM: cgend exits 0" "$?" 0
# each day's digest went to each CDT address under one Message-ID only
digests=$("$PY3" - "$T" <<'PY'
import glob, re, sys
seen, days = set(), set()
for env in glob.glob(sys.argv[1] + "/smtp/mail/*.env"):
    data = open(env[:-4] + ".eml", "rb").read()
    s = re.search(rb"^Subject: CGEN digest ([^:]*):", data, re.M)
    if not s:
        continue
    mid = re.search(rb"^Message-ID:\s*<([^>]*)>", data, re.M | re.I).group(1)
    for r in open(env).read().split()[1:]:
        seen.add((s.group(1), r, mid))
    days.add(s.group(1))
pairs = {(d, r) for d, r, m in seen}
print("%d %s" % (len(days), "once" if len(pairs) == len(seen) else "TWICE"))
PY
)
is "one digest a day, each under one Message-ID: days = the store's digest days" "$digests" \
	"$("$SQLITE3" "$T/cgen.db" 'SELECT count(*) FROM digests') once"
invariants "$T" "end" --final
tap_end
