#!/bin/sh
# The disk fills up under a running daemon (issue "Safe by default", data
# safety 10): the store lives on an 8 MB tmpfs, the SMTP server (aiosmtpd on
# 127.0.0.1) keeps every mail it accepts. The disk fills while mails are in
# flight, so the commit of their results fails: nothing may go out twice,
# nothing may be lost, the daemon says once that it pauses, takes no mail
# meanwhile and goes on by itself when space returns. Then a start on a full
# disk exits 75. Needs root (mount); TAP output.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
PY3=/usr/bin/python3
SQLITE3=${SQLITE3:-$(command -v sqlite3)}
if [ -z "$SQLITE3" ] || ! "$PY3" -c 'import aiosmtpd' >/dev/null 2>&1; then
	echo "1..0 # SKIP sqlite3 or python3-aiosmtpd not installed"; exit 0
fi
T=$(mktemp -d /tmp/cgen-full.XXXXXX)
mkdir -p "$T/fs"
if ! mount -t tmpfs -o size=8m,mode=0700 tmpfs "$T/fs" 2>/dev/null; then
	rmdir "$T/fs"; rm -rf "$T"
	echo "1..0 # SKIP cannot mount a tmpfs (needs root)"; exit 0
fi
smtp= daemon=
cleanup() {
	[ -n "$daemon" ] && kill -TERM "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
	[ -n "$smtp" ] && kill -CONT "$smtp" 2>/dev/null && kill "$smtp" 2>/dev/null && wait "$smtp" 2>/dev/null
	umount "$T/fs" 2>/dev/null || { sleep 1; umount -l "$T/fs"; }
	rm -rf "$T"
}
trap cleanup EXIT
wait_for() {
	_n=$(($1 * 10)); shift
	while [ $_n -gt 0 ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; _n=$((_n - 1)); done
	return 1
}
accepted() { ls "$T/smtp/mail" 2>/dev/null | grep -c '\.eml$'; }
at_least() { [ "$(accepted)" -ge "$1" ]; }
sending() { [ "$("$SQLITE3" -readonly "$T/fs/cgen.db" 'SELECT count(*) FROM outbox_sending' 2>/dev/null)" -gt 0 ]; }
fill() { dd if=/dev/zero of="$T/fs/fill$1" bs=16k 2>/dev/null; sync; }
ncases() { "$CGENCTL" -c "$T/cgen.conf" list --json | grep -o '"id"' | wc -l | tr -d ' '; }
# Message-IDs of the accepted mails that came more than once.
dups() { cat "$T"/smtp/mail/*.eml | tr -d '\r' | grep -i '^Message-ID:' | sort | uniq -d; }
# Requests 1-8 from DWR, 9-15 from DMV (each below [security] case_open_limit).
# They are written to tmp/ first, then renamed into new/ together.
deliver_requests() {
	for i in $(seq "$1" "$2"); do
		if [ "$i" -le 8 ]; then e=DWR d=water.ca.gov; else e=DMV d=dmv.ca.gov; fi
		request_mail "R$i <r$i@$d>" "request $i" full$i@$d $e >"$T/Maildir/tmp/req$i"
	done
	(cd "$T/Maildir/tmp" && mv $(seq -f 'req%g' "$1" "$2") ../new/)
}

setup_agent "$T"
mkdir -p "$T/smtp"
"$PY3" "$top_srcdir/tests/smtpd.py" "$T/smtp" >"$T/smtp/log" 2>&1 &
smtp=$!
wait_for 10 test -s "$T/smtp/port" || { echo "Bail out! the SMTP server did not start"; exit 1; }
mv "$T/cgen.db" "$T/fs/cgen.db"
sed -i -e "s|^path = cgen.db\$|path = fs/cgen.db|" \
	-e "s|^url = file:outbox\$|url = smtp://127.0.0.1:$(cat "$T/smtp/port")|" \
	-e "s|^url = maildir:Maildir\$|url = maildir:Maildir\npoll_interval = 1|" "$T/cgen.conf"

"$CGEND" -c "$T/cgen.conf" --foreground 2>>"$T/cgend.log" &
daemon=$!
deliver_requests 1 5
wait_for 60 at_least 15
is "5 requests: 15 mails accepted" "$(accepted)" 15

# The disk fills while the next 15 mails are in flight (the SMTP server is
# held): their sends succeed, the commit of the results cannot.
kill -STOP "$smtp"
deliver_requests 6 10
wait_for 60 sending
fill 1
kill -CONT "$smtp"
wait_for 30 grep -q 'cannot commit' "$T/cgend.log"
n1=$(accepted)
check "disk full after the sends: their results wait in memory" \
	grep -q 'send result(s) kept until the store can commit' "$T/cgend.log"
deliver_requests 11 15
sleep 8
is "  nothing goes out again while the store cannot commit ($n1 accepted)" "$(accepted)" "$n1"
is "  no Message-ID twice" "$(dups)" ""
is "  the daemon said so once" "$(grep -c 'cannot commit (.*): no new mail is taken' "$T/cgend.log")" 1
check "  its state file says it is paused" grep -q '^state: paused' "$T/fs/cgen.db.state"
check "  and why" grep -q '^error: .*full' "$T/fs/cgen.db.state"
is "  no new mail was taken" "$(ls "$T/Maildir/new" | grep -c '^req1[1-5]$')" 5

# Space returns: the daemon goes on by itself.
rm -f "$T/fs/fill1"
wait_for 120 at_least 45
wait_for 30 sh -c "[ \$(ls '$T/Maildir/new' | wc -l) -eq 0 ]"
sleep 3
is "space back: every request handled" "$(ncases)" 15
is "  45 mails accepted in all" "$(accepted)" 45
is "  still no Message-ID twice" "$(dups)" ""
acks=0
for i in $(seq 1 15); do
	n=$(grep -l "^r$i@" "$T"/smtp/mail/*.env | wc -l)
	[ "$n" -eq 1 ] && acks=$((acks + 1))
done
is "  each requester got one acknowledgment" "$acks" 15
check "  the log says it goes on" grep -q 'commits again .*: taking mail again' "$T/cgend.log"
check "  the state file says running" grep -q '^state: running' "$T/fs/cgen.db.state"
"$CGENCTL" -c "$T/cgen.conf" list --json >/dev/null
"$CGENCTL" -c "$T/cgen.conf" verify >"$T/verify.out"
check "  the chain is intact" grep -q 'event chain intact' "$T/verify.out"
"$CGENCTL" -c "$T/cgen.conf" show CGEN-2026-0001 --json >/dev/null
"$SQLITE3" -readonly "$T/fs/cgen.db" "SELECT count(*) FROM events WHERE kind = 'store_paused'" >"$T/paused"
is "  the pause is an event of the record" "$(cat "$T/paused")" 1
kill -TERM "$daemon"
wait "$daemon"
is "SIGTERM: exit 0" "$?" 0
daemon=

# A start on a full disk: 75 (EX_TEMPFAIL), not 78.
fill 2
request_mail "Late <late@water.ca.gov>" late full99@water.ca.gov DWR | deliver "$T" req99
"$CGEND" -c "$T/cgen.conf" --once --foreground 2>>"$T/cgend.log"
is "cgend --once with mail to store on a full disk: exit 75" "$?" 75
check "  the mail stays unread" test -e "$T/Maildir/new/req99"
sed -i "s|^path = fs/cgen.db\$|path = fs/new.db\ncreate = yes|" "$T/cgen.conf"
"$CGEND" -c "$T/cgen.conf" --once --foreground 2>>"$T/cgend.log"
is "cgend creating its store on a full disk: exit 75" "$?" 75
rm -f "$T/fs/fill2"
"$CGEND" -c "$T/cgen.conf" --once --foreground 2>>"$T/cgend.log"
is "  once there is space it starts" "$?" 0
check "no sanitizer report in the daemon log" sh -c "! grep -q 'ERROR: AddressSanitizer\|runtime error' '$T/cgend.log'"
tap_end
