#!/bin/sh
# The send log (STORE.sending) after a crash in the middle of a round of
# sends to an SMTP server, which cannot say what it got: a stopped round is
# set up in the store and its log (rows marked as being sent at one time;
# the log names the round, the row the server accepted, the one in flight,
# one that failed and one never begun; one more row marked in another
# round). cgend, started again, records the accepted row as sent without
# sending it, sends again only the row in flight and the one the log cannot
# speak for (each with a resent_in_doubt event), sends the others once, and
# empties the log. TAP output.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"
. "$top_srcdir/tests/faults/common.sh"
if ! servers_available; then echo "1..0 # SKIP dovecot, openssl or aiosmtpd not installed"; exit 0; fi
T=$(mktemp -d /tmp/cgfl.XXXXXX)
trap 'servers_stop "$T"; rm -rf "$T"' EXIT
faults_setup "$T" || { echo "Bail out! servers did not start"; cat "$T/dv/dovecot.log" "$T/smtp/log"; exit 1; }
once() { "$CGEND" -c "$T/cgen.conf" --once --foreground --now "$(clock "$T")" 2>>"$T/cgend.log"; }
sql() { "$SQLITE3" "$T/cgen.db" "$1"; }

# two requests; the server says 421 to every connection: six mails queued
echo 421-connect >"$T/smtp/mode"
for i in 1 2; do
	request_mail "Req $i <req$i@water.ca.gov>" "Request $i" "sl$i@faults.test" DWR | deliver "$T" "sl$i"
done
once
is "six mails queued, none sent" "$(sql "SELECT count(*) FROM outbox WHERE status = 'pending'")" 6
set -- $(sql "SELECT id FROM outbox WHERE status = 'pending' ORDER BY id LIMIT 5")
A=$1 B=$2 C=$3 D=$4 E=$5
# the stopped round: A accepted, B in flight, C failed, D never begun (all
# marked at 1000); E marked in an earlier round the log no longer holds
sql "INSERT INTO outbox_sending (outbox_id, started) VALUES ($A, 1000), ($B, 1000), ($C, 1000), ($D, 1000), ($E, 999)"
printf 'R 999\nM %s\nR 1000\nM %s\nM %s\nM %s\nM %s\nT %s\nS %s\nT %s\nF %s\nT %s\n' \
	"$E" "$A" "$B" "$C" "$D" "$A" "$A" "$C" "$C" "$B" >"$T/cgen.db.sending"
chmod 600 "$T/cgen.db.sending"

# the server accepts again; a day later, past any backoff
echo accept >"$T/smtp/mode"
advance "$T" 86400
once
is "cgend --once after the crash: exit 0" "$?" 0
got() { grep -l "^Message-ID: <cgen\.[a-z2-7]*\.$1@\|^Message-ID: <cgen\.n$1\." "$T"/smtp/mail/*.eml 2>/dev/null | wc -l | tr -d ' '; }
doubt() { sql "SELECT count(*) FROM events WHERE kind = 'resent_in_doubt' AND detail LIKE 'outbox $1 %'"; }
is "accepted before the crash: recorded as sent" "$(sql "SELECT status FROM outbox WHERE id = $A")" sent
is "accepted before the crash: not sent again" "$(got "$A")" 0
is "in flight: sent again (same Message-ID)" "$(got "$B")" 1
is "in flight: a resent_in_doubt event" "$(doubt "$B")" 1
is "failed: sent, no event" "$(got "$C")/$(doubt "$C")" 1/0
is "never begun: sent, no event" "$(got "$D")/$(doubt "$D")" 1/0
is "a round the log does not hold: sent again with an event" "$(got "$E")/$(doubt "$E")" 1/1
is "the sixth mail: sent" "$(sql "SELECT count(*) FROM outbox WHERE status = 'pending'")" 0
is "the log says where it spoke" "$(grep -c 'before the last stop (send log)' "$T/cgend.log")" 3
is "the log is emptied" "$(wc -c <"$T/cgen.db.sending" | tr -d ' ')" 0
is "the log is private" "$(stat -c %a "$T/cgen.db.sending")" 600
check "no sanitizer report" sh -c "! grep -q 'Sanitizer' '$T/cgend.log'"
tap_end
