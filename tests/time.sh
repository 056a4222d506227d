#!/bin/sh
# The clock (DESIGN.md section 5), end to end: cgend --once --now every hour
# from Thursday 2026-10-29 over the end of daylight-saving time, with a
# holiday. Reminders at the right times and no more than max_reminders, with
# the step's reply key; overdue reported once; the CDT digest once a day at
# digest_at; the approver digest's mailto: link answers its case; cgenctl
# digest [--print] and verify --head. TAP output.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
T=$(mktemp -d /tmp/cgen-time.XXXXXX)
trap 'rm -rf "$T"' EXIT
setup_agent "$T"
printf '# test holidays\n2026-11-03   # a day off\n' >"$T/holidays"
sed -i '/^\[workflow\]/a remind_after = 2\nmax_reminders = 2\ndigest_at = 07:00\napprover_digest = yes\nholidays_file = holidays' "$T/cgen.conf"
export TZ=America/Los_Angeles

# at EPOCH: cgend --once at that moment; each new outbox file is logged as
# "LOCAL-TIME KIND TO" in $T/log.
seen=0
at() {
	now=$(date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ)
	"$CGEND" -c "$T/cgen.conf" --once --foreground --now "$now" 2>>"$T/cgend.log" || echo "cgend failed at $now" >>"$T/log"
	for f in $(ls "$T/outbox/new" | sort -n | tail -n +$((seen + 1))); do
		seen=$((seen + 1))
		to=$(sed -n 's/^X-Envelope-To: <\(.*\)>.*/\1/p' "$T/outbox/new/$f" | tr -d '\r')
		subj=$(header "$T/outbox/new/$f" Subject)
		case $subj in
		*"] Reminder "*) kind=reminder ;;
		*"] Overdue:"*) kind=overdue ;;
		"CGEN digest "*) kind=digest ;;
		"CGEN exemptions: "*) kind=approver-digest ;;
		*) kind=other ;;
		esac
		echo "$(date -d "@$1" '+%a %m-%d %H:%M %Z') $kind $to $f" >>"$T/log"
	done
}
t0=$(date -d '2026-10-29T10:00:00-07:00' +%s)
request_mail "Dana Lee <dana.lee@water.ca.gov>" "Delta field office" t1@water.ca.gov "DWR" | deliver "$T" r1
request_mail "Dana Lee <dana.lee@water.ca.gov>" "Sacramento annex" t2@water.ca.gov "DWR" | deliver "$T" r2
at "$t0"
aio_req=$(sed -n 's/.* other aio@water.ca.gov \(.*\)/\1/p' "$T/log" | head -n 1)
is "two requests, each asks the AIO and CIO" "$(grep -c ' other ' "$T/log")" 6

end=$(date -d '2026-11-10T12:00:00-08:00' +%s)
t=$((t0 + 3600))
while [ "$t" -le "$end" ]; do at "$t"; t=$((t + 3600)); done
check "every cgend pass succeeded" sh -c "! grep -q 'cgend failed' '$T/log'"

# remind_after = 2 business days from Thu 10-29 10:00 PDT, 11-03 a holiday
is "reminders to the AIO: Mon 11-02 and Thu 11-05 at 10:00 PST, two per case" \
	"$(grep ' reminder aio@water.ca.gov ' "$T/log" | cut -d' ' -f1-4 | uniq -c | tr -s ' ' | tr '\n' '|')" \
	" 2 Mon 11-02 10:00 PST| 2 Thu 11-05 10:00 PST|"
is "the CIO is reminded as often" "$(grep -c ' reminder cio@water.ca.gov ' "$T/log")" 4
is "nobody else is reminded" "$(grep ' reminder ' "$T/log" | grep -vc '@water.ca.gov ')" 0
is "overdue: CDT told once per case, Mon 11-09 10:00 PST" \
	"$(grep ' overdue ' "$T/log" | cut -d' ' -f1-6 | sort | uniq -c | tr -s ' ' | tr '\n' '|')" \
	" 2 Mon 11-09 10:00 PST overdue review1@cdt.ca.gov| 2 Mon 11-09 10:00 PST overdue review2@cdt.ca.gov|"
is "cases marked overdue" "$(ctl "$T" list --json | grep -o '"overdue":true' | wc -l | tr -d ' ')" 2

rem=$(grep ' reminder aio@water.ca.gov ' "$T/log" | head -n 1 | awk '{print $NF}')
is "the reminder carries the approval request's reply key" \
	"$(reply_to "$T/outbox/new/$rem")" "$(reply_to "$T/outbox/new/$aio_req")"
check "and its commands" body_has "$T/outbox/new/$rem" '^  REJECT reason'

# the CDT digest: once per local day at 07:00, over the daylight-saving change
is "one digest a day per CDT address, at 07:00 local time" \
	"$(grep ' digest review1@cdt.ca.gov ' "$T/log" | cut -d' ' -f1-4 | tr '\n' '|')" \
	"Fri 10-30 07:00 PDT|Sat 10-31 07:00 PDT|Sun 11-01 07:00 PST|Mon 11-02 07:00 PST|Tue 11-03 07:00 PST|Wed 11-04 07:00 PST|Thu 11-05 07:00 PST|Fri 11-06 07:00 PST|Sat 11-07 07:00 PST|Sun 11-08 07:00 PST|Mon 11-09 07:00 PST|Tue 11-10 07:00 PST|"
is "the same for the second reviewer" "$(grep -c ' digest review2@cdt.ca.gov ' "$T/log")" 12
dg=$(grep ' digest review1@cdt.ca.gov ' "$T/log" | tail -n 1 | awk '{print $NF}')
check "the digest is text and HTML" grep -q '^Content-Type: multipart/alternative' "$T/outbox/new/$dg"
check "with a text/html part" grep -q '^Content-Type: text/html; charset=UTF-8' "$T/outbox/new/$dg"
check "overdue cases listed as such" body_has "$T/outbox/new/$dg" '^  CGEN-2026-0001  DWR        12 days  waiting for approvals  OVERDUE$'
head=$(body_of "$T/outbox/new/$dg" | sed -n 's/^Event chain: [0-9]* events, head \([0-9a-f]\{64\}\)$/\1/p')
check "the digest publishes the chain head" test -n "$head"

# the approver digest: the AIO has two cases waiting
is "approver digests to the AIO, daily" "$(grep -c ' approver-digest aio@water.ca.gov ' "$T/log")" 12
ad=$(grep ' approver-digest aio@water.ca.gov ' "$T/log" | tail -n 1 | awk '{print $NF}')
link=$(body_of "$T/outbox/new/$ad" | sed -n 's/^   APPROVE: \(mailto:.*\)$/\1/p' | head -n 1)
key=$(reply_to "$T/outbox/new/$aio_req" | sed 's/^cgen+\([a-z2-7]*\)@.*/\1/')
is "the first APPROVE link goes to the first case's keyed address" \
	"$(echo "$link" | sed 's/^mailto:\([^?]*\)?.*/\1/')" "cgen+$key@cdt.ca.gov"
# One click and Send: the client writes the link's subject and body.
subj=$(urldecode "$(echo "$link" | sed 's/.*[?&]subject=\([^&]*\).*/\1/')")
body=$(urldecode "$(echo "$link" | sed 's/.*[?&]body=\([^&]*\).*/\1/')")
is "the link's subject" "$subj" "Re: [CGEN-2026-0001] Approval needed (AIO): DWR, West Sacramento, \$97,560"
printf 'From: aio@water.ca.gov\nTo: cgen+%s@cdt.ca.gov\nSubject: %s\nMessage-ID: <click.1@water.ca.gov>\nDate: Tue, 10 Nov 2026 13:00:00 -0800\n\n%s\n' \
	"$key" "$subj" "$body" | deliver "$T" click
at $((end + 3600))
is "answers that case" "$(ctl "$T" show CGEN-2026-0001 --json | sed -n 's/.*"approvals":{"aio":"\([a-z]*\)".*/\1/p')" approved
is "and only that one" "$(ctl "$T" show CGEN-2026-0002 --json | sed -n 's/.*"approvals":{"aio":"\([a-z]*\)".*/\1/p')" pending

# cgenctl digest
now=2026-11-11T06:00:00-08:00
out=$("$CGENCTL" -c "$T/cgen.conf" --now $now digest --print)
has() { printf '%s\n' "$1" | grep -Eq "$2"; }
check "digest --print shows the digest" has "$out" '^Open cases: 2 \(2 overdue\)$'
check "with the chain head" has "$out" '^Event chain: [0-9]+ events, head [0-9a-f]{64}$'
n=$(count_mails "$T")
"$CGEND" -c "$T/cgen.conf" --once --foreground --now $now 2>>"$T/cgend.log"
is "--print neither sends nor records; 06:00 is not yet due" "$(count_mails "$T")" "$n"
"$CGENCTL" -c "$T/cgen.conf" --now $now digest >/dev/null; rc=$?
is "digest queues it now" "$rc" 0
"$CGEND" -c "$T/cgen.conf" --once --foreground --now 2026-11-11T07:00:00-08:00 2>>"$T/cgend.log"
is "sent once: 2 CDT + 1 approver, none again at 07:00" "$(count_mails "$T")" $((n + 3))
"$CGENCTL" -c "$T/cgen.conf" --now $now digest >/dev/null 2>&1; rc=$?
is "a second digest the same day is refused" "$rc" 1

# verify --head
out=$("$CGENCTL" -c "$T/cgen.conf" verify --head "$head"); rc=$?
is "verify --head finds the published head" "$rc" 0
check "and says where" has "$out" 'published head found at event [0-9]+ of [0-9]+$'
"$CGENCTL" -c "$T/cgen.conf" verify --head 0000000000000000000000000000000000000000000000000000000000000001 >/dev/null; rc=$?
is "an unknown head is a finding" "$rc" 1
SQLITE3=${SQLITE3:-$(command -v sqlite3)}
if [ -n "$SQLITE3" ]; then
	seq=$("$SQLITE3" "$T/cgen.db" "SELECT seq FROM events WHERE hash = '$head';")
	"$SQLITE3" "$T/cgen.db" "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events';" |
		while read -r trig; do "$SQLITE3" "$T/cgen.db" "DROP TRIGGER \"$trig\";"; done
	"$SQLITE3" "$T/cgen.db" "DELETE FROM events WHERE seq >= $seq;"
	"$CGENCTL" -c "$T/cgen.conf" verify >/dev/null; rc=$?
	is "a cut tail passes plain verify" "$rc" 0
	"$CGENCTL" -c "$T/cgen.conf" verify --head "$head" >/dev/null; rc=$?
	is "but not verify --head with the published head" "$rc" 1
else
	ok "# SKIP sqlite3 command-line tool not installed"
	ok "# SKIP sqlite3 command-line tool not installed"
fi
tap_end
