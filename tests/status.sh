#!/bin/sh
# cgenctl status over real servers (Dovecot IMAPS in, SMTP with STARTTLS
# out, on 127.0.0.1): a stopped daemon, a running one, an SMTP outage (mail
# pending and rising, exit 1) and the recovery after `outbox retry all`.
# TAP output.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/servers.sh"
if ! servers_available; then echo "1..0 # SKIP dovecot, openssl or aiosmtpd not installed"; exit 0; fi
T=$(mktemp -d /tmp/cgst.XXXXXX)
trap '[ -f "$T/cgend.pid" ] && kill "$(cat "$T/cgend.pid")" 2>/dev/null; servers_stop "$T"; rm -rf "$T"' EXIT
servers_setup "$T" || { echo "Bail out! servers did not start"; exit 1; }
st() { "$CGENCTL" -c "$T/cgen.conf" status "$@"; }
json_num() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
# wait_for SECONDS COMMAND...: until the command succeeds.
wait_for() {
	_n=$(( $1 * 5 )); shift
	while [ $_n -gt 0 ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; _n=$((_n - 1)); done
	return 1
}
pending() { st --json | sed -n 's/.*"outbox":{"pending":\([0-9]*\),.*/\1/p'; }

out=$(st); rc=$?
is "never started: exit 1" "$rc" 1
check "  says cgend is not running" sh -c "echo '$out' | grep -q 'cgend is not running'"
st --json | grep -q '"healthy":false,"problems":\["cgend is not running"\],"daemon":{"running":false,"pid":null'
is "  --json: healthy false, running false, pid null" "$?" 0

# --check-config --connect: logs in to both servers, certificates verified
out=$("$CGEND" -c "$T/cgen.conf" --check-config --connect 2>&1); rc=$?
is "check-config --connect with the servers up: exit 0" "$rc" 0 || echo "$out" | sed 's/^/# /'
check "  IMAP login and folder checked" sh -c "echo '$out' | grep -q '^ok: mailbox imaps://.*logged in with the server certificate verified'"
check "  the Processed folder is named" sh -c "echo '$out' | grep -q '^ok: .*folder Processed'"
check "  SMTP connected and ready" sh -c "echo '$out' | grep -q '^ok: smtp smtp://.*connected'"
check "  the directory is counted" sh -c "echo '$out' | grep -q '^ok: directory: [1-9][0-9]* entities'"
printf 'wrong\n' >"$T/bad-password"; chmod 600 "$T/bad-password"
sed -e 's|^password_file = imap-password$|password_file = bad-password|' -e 's|^ca_file = dv/ca.pem$||' "$T/cgen.conf" >"$T/bad.conf"
out=$("$CGEND" -c "$T/bad.conf" --check-config --connect 2>&1); rc=$?
is "a wrong password and an untrusted certificate: exit 78" "$rc" 78
check "  says what to fix for IMAP" sh -c "echo '$out' | grep -q '^FIX: mailbox: .*(check \[mailbox\]'"
check "  and for SMTP" sh -c "echo '$out' | grep -q '^FIX: smtp .*(check \[smtp\]'"

"$CGEND" -c "$T/cgen.conf" --foreground 2>>"$T/cgend.log" &
echo $! >"$T/cgend.pid"
pid=$(cat "$T/cgend.pid")
check "running: the daemon's heartbeat appears" wait_for 20 sh -c "'$CGENCTL' -c '$T/cgen.conf' status --json | grep -q '\"running\":true,\"pid\":$pid,'"
request_mail "Dana Lee <dana.lee@water.ca.gov>" "Delta office" st1@water.ca.gov DWR | deliver "$T" s1
check "  the request's three mails are sent" wait_for 20 sh -c "[ \$(ls '$T/smtp/mail' 2>/dev/null | grep -c '\.eml\$') -ge 3 ]"
sleep 1
out=$(st); rc=$?
is "  healthy: exit 0" "$rc" 0
check "  shows pid, last poll and send" sh -c "echo '$out' | grep -q 'running, pid $pid' && echo '$out' | grep -q '^last poll ' && echo '$out' | grep -q '^last send .*mail(s) sent'"
j=$(st --json)
check "  --json: handled_today >= 1" [ "$(echo "$j" | json_num handled_today)" -ge 1 ]
check "  --json: schema version and chain head" sh -c "echo '$j' | grep -q '\"schema_version\":[0-9]' && echo '$j' | grep -Eq '\"chain_head\":\\{\"hash\":\"[0-9a-f]{64}\",\"events\":[1-9]'"

# SMTP outage: the relay answers 451 to every recipient
echo tempfail-rcpt >"$T/smtp/mode"
request_mail "Kim <kim@chp.ca.gov>" "Radio site" st2@chp.ca.gov CHP | deliver "$T" s2
check "outage: mail waits in the outbox" wait_for 20 sh -c "[ \"\$('$CGENCTL' -c '$T/cgen.conf' status --json | sed -n 's/.*\"outbox\":{\"pending\":\([0-9]*\),.*/\1/p')\" -ge 1 ]"
p1=$(pending)
request_mail "Lee <lee@csu.ca.gov>" "Campus link" st3@csu.ca.gov CSU | deliver "$T" s3
check "  pending rises with the next request" wait_for 20 sh -c "[ \"\$('$CGENCTL' -c '$T/cgen.conf' status --json | sed -n 's/.*\"outbox\":{\"pending\":\([0-9]*\),.*/\1/p')\" -gt $p1 ]"
p2=$(pending)
echo "# pending during the outage: $p1, then $p2"
out=$(st); rc=$?
is "  needs a person: exit 1" "$rc" 1
check "  says the send failed and mail waits" sh -c "echo '$out' | grep -q 'the last send failed and [0-9]* mail(s) wait: .*451'"
check "  cgenctl outbox lists the waiting mail with its error" sh -c "'$CGENCTL' -c '$T/cgen.conf' outbox | grep -q '451'"
n=$("$CGENCTL" -c "$T/cgen.conf" outbox --json | grep -o '"status":"pending"' | wc -l)
is "  outbox --json: as many pending rows as status says" "$n" "$p2"

# Recovery: the relay accepts again; retry now instead of after the backoff
echo accept >"$T/smtp/mode"
"$CGENCTL" -c "$T/cgen.conf" outbox retry all >/dev/null
is "recovery: outbox retry all exits 0" "$?" 0
check "  the waiting mail goes out" wait_for 30 sh -c "[ \"\$('$CGENCTL' -c '$T/cgen.conf' status --json | sed -n 's/.*\"outbox\":{\"pending\":\([0-9]*\),.*/\1/p')\" = 0 ]"
out=$(st); rc=$?
is "  healthy again: exit 0" "$rc" 0
[ "$rc" = 0 ] || echo "$out" | sed 's/^/# /'

kill "$pid"
wait "$pid"
rm -f "$T/cgend.pid"
out=$(st); rc=$?
is "stopped: exit 1" "$rc" 1
check "  says cgend is stopped" sh -c "echo '$out' | grep -q 'cgend is stopped'"
check "no sanitizer report" sh -c "! grep -Eq 'AddressSanitizer|runtime error|LeakSanitizer' '$T/cgend.log'"
tap_end
