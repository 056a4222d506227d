#!/bin/sh
# SMTP faults while cgend runs (tests/smtpd.py modes): the connection cut
# in the middle of DATA, the mail kept but the 250 never said (the agent
# cannot know: it sends again, same Message-ID), 421 on connect, a server
# that accepts the connection and never says a word ([smtp] timeout must
# fire, cgend must not hang), and a slow server (every answer late, within
# the timeout: all goes out, nothing is sent twice). After each, the server
# accepts again, the clock moves past the retry backoff, and the invariants
# of tests/faults/workload.py hold with nothing left to send. FULL=1: more
# mails in each. TAP output.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"
. "$top_srcdir/tests/faults/common.sh"
if ! servers_available; then echo "1..0 # SKIP dovecot, openssl or aiosmtpd not installed"; exit 0; fi
T=$(mktemp -d /tmp/cgfs.XXXXXX)
DPID=
trap '[ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null; servers_stop "$T"; rm -rf "$T"' EXIT
# the short form: a 4 s timeout and answers 0.1 s late; FULL=1: 8 s and 0.3 s
if [ "$FULL" = 1 ]; then PER=40 TMO=8 SLOW=0.3; else PER=10 TMO=4 SLOW=0.1; fi
SMTP_TIMEOUT=$TMO faults_setup "$T" || { echo "Bail out! servers did not start"; cat "$T/dv/dovecot.log" "$T/smtp/log"; exit 1; }
SEED=${SEED:-$(rand 100000)}
echo "# seed $SEED, $PER mails a fault, [smtp] timeout $TMO s, slow answers $SLOW s late"
# received: mails the SMTP server kept so far
received() { ls "$T/smtp/mail" 2>/dev/null | grep -c '\.eml$'; }
# retries DIR: the number of "retry later" lines cgend logged
retries() { cat "$T/cgend.log" 2>/dev/null | grep -c 'retry later'; }

k=0
for mode in cut-data lost-reply 421-connect silent slow; do
	k=$((k + 1))
	echo "$SLOW" >"$T/smtp/delay"
	echo "$mode" >"$T/smtp/mode"
	n0=$(received) r0=$(retries)
	"$PY3" "$WL" gen "$T" "$PER" $((SEED + k)) >/dev/null
	daemon_start "$T"
	t0=$(date +%s)
	if [ "$mode" = slow ]; then
		check "$mode: every mail goes out through a slow server" wait_idle "$T" 300
		is "$mode: none was retried" "$(retries)" "$r0"
	else
		# the inbox handled, then the sends fail and wait for a later try
		_i=0
		while [ "$(retries)" -le "$r0" ] && [ $_i -lt 600 ]; do sleep 0.1; _i=$((_i + 1)); done
		check "$mode: the send fails as a temporary failure (logged: retry later)" \
			test "$(retries)" -gt "$r0"
		[ "$mode" = silent ] && is "$mode: the timeout fired (3 tries of $TMO s, 20 s of slack)" \
			"$(( $(date +%s) - t0 <= 3 * TMO + 20 ))" 1
		sleep 1
		check "$mode: cgend keeps running" alive "$DPID"
		[ "$mode" = lost-reply ] || is "$mode: the server kept nothing" "$(received)" "$n0"
		# the next look at the mailbox still works (the sender does not hold it up)
		"$PY3" "$WL" gen "$T" 3 $((SEED + 50 + k)) >/dev/null
		_i=0
		while [ -n "$(find "$T/dv/mail/u/Maildir/new" "$T/dv/mail/u/Maildir/cur" -type f)" ] && [ $_i -lt 600 ]; do
			sleep 0.1; _i=$((_i + 1))
		done
		is "$mode: mail arriving meanwhile is still read" "$(find "$T/dv/mail/u/Maildir/new" "$T/dv/mail/u/Maildir/cur" -type f | wc -l)" 0
	fi
	daemon_stop
	is "$mode: SIGTERM: cgend exits 0" "$?" 0
	echo accept >"$T/smtp/mode"
	# past any retry backoff (at most 64 minutes)
	advance "$T" 86400
	daemon_start "$T"
	check "$mode: once the server accepts, all is sent" wait_idle "$T"
	daemon_stop
	invariants "$T" "$mode" --final
done
dups=$("$PY3" - "$T" <<'PY'
import glob, re, sys
ids = []
for f in glob.glob(sys.argv[1] + "/smtp/mail/*.eml"):
    m = re.search(rb"^Message-ID:\s*<([^>]*)>", open(f, "rb").read(), re.M | re.I)
    ids.append(m.group(1) if m else None)
print(len(ids) - len(set(ids)))
PY
)
check "lost-reply: the mails whose 250 was lost were sent again with the same Message-ID" test "$dups" -gt 0
echo "# $(received) mails received, $dups of them sent again with the same Message-ID"
tap_end
