#!/bin/sh
# kill -9 of cgend at random moments of a mixed workload (issue "Fast and
# unbreakable", faults at every step): requests complete and incomplete,
# approvals by AIO/CIO replies, CDT and CTO decisions, corrected forms,
# auto-replies, bounces, HELP, reminders and digests as the clock advances
# 5 hours a round. Each round delivers its mails to a real Dovecot, starts
# cgend, kills it (-9) after a random delay, starts it again and waits until
# all is handled and sent; then the invariants (tests/faults/workload.py)
# are checked. Short form: 8 rounds of 30 mails; FULL=1: 50 rounds of 40
# (2,000 mails, 50 kills). TAP output.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"
. "$top_srcdir/tests/faults/common.sh"
if ! servers_available; then echo "1..0 # SKIP dovecot, openssl or aiosmtpd not installed"; exit 0; fi
T=$(mktemp -d /tmp/cgfk.XXXXXX)
DPID=
trap '[ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null; servers_stop "$T"; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
faults_setup "$T" || { echo "Bail out! servers did not start"; cat "$T/dv/dovecot.log" "$T/smtp/log"; exit 1; }
if [ "$FULL" = 1 ]; then ROUNDS=${ROUNDS:-50} PER=${PER:-40}; else ROUNDS=${ROUNDS:-8} PER=${PER:-30}; fi
SEED=${SEED:-$(rand 100000)}
echo "# $ROUNDS rounds of $PER mails, seed $SEED"
start=$(date +%s)
busy_kills=0 est=1500 doubt_before=0
r=1
while [ $r -le $ROUNDS ]; do
	mix=$("$PY3" "$WL" gen "$T" "$PER" $((SEED + r)))
	daemon_start "$T"
	# a random moment within the time the last round's work took
	delay=$(( $(rand "$est") + 20 ))
	sleep_ms "$delay"
	if "$PY3" "$WL" idle "$T" "$(now "$T")"; then at=idle; else at=busy; busy_kills=$((busy_kills + 1)); fi
	daemon_kill
	daemon_start "$T"
	t0=$(date +%s%N)
	if wait_idle "$T"; then
		ok "round $r ($mix): killed after $delay ms ($at), restarted, all handled and sent"
	else
		not_ok "round $r ($mix): killed after $delay ms ($at), restarted, all handled and sent"
	fi
	t1=$(date +%s%N)
	# the work of a round: up to the kill and after the restart (less the
	# 0.75 s wait_idle looks for); killed idle, it took less than the delay
	if [ $at = busy ]; then est=$(( delay + (t1 - t0) / 1000000 - 750 )); else est=$(( delay * 3 / 4 )); fi
	[ "$est" -gt 150 ] || est=150
	check "round $r: cgend still runs after the restart" alive "$DPID"
	# the send log: only the mail in flight at the kill may go out again
	doubt_now=$("$SQLITE3" "$T/cgen.db" "SELECT count(*) FROM events WHERE kind = 'resent_in_doubt'")
	check "round $r: at most the one mail in flight sent again ($((doubt_now - doubt_before)))" \
		test "$((doubt_now - doubt_before))" -le 1
	doubt_before=$doubt_now
	invariants "$T" "round $r"
	daemon_stop "$T"
	is "round $r: SIGTERM: cgend exits 0" "$?" 0
	advance "$T" 18000
	r=$((r + 1))
done
# the end: time for reminders and the last decisions to go out
daemon_start "$T"
wait_idle "$T"
daemon_stop "$T"
invariants "$T" "end" --final
mails=$(grep -o '"mid"' "$T/wl/inbound.json" | wc -l | tr -d ' ')
sent=$(ls "$T/smtp/mail" | grep -c '\.eml$')
cases=$("$SQLITE3" "$T/cgen.db" 'SELECT count(*) FROM cases' 2>/dev/null)
states=$("$SQLITE3" "$T/cgen.db" "SELECT group_concat(state || ' ' || n, ', ') FROM (SELECT state, count(*) n FROM cases GROUP BY state)" 2>/dev/null)
digests=$("$SQLITE3" "$T/cgen.db" 'SELECT count(*) FROM digests' 2>/dev/null)
doubt=$("$SQLITE3" "$T/cgen.db" "SELECT count(*) FROM events WHERE kind = 'resent_in_doubt'" 2>/dev/null)
echo "# summary: $ROUNDS kills ($busy_kills while work was in hand), $mails inbound mails, $cases cases ($states)," \
	"$sent mails received by SMTP, $doubt sent again after a kill, $digests digests, $tap_n checks, $(( $(date +%s) - start )) s"
tap_end
