#!/bin/sh
# The exemption's whole life, end to end with cgend --once --now on a Maildir:
# CDT proposes CGEN alternatives (accepted, declined, left unanswered until
# reminders and overdue); the CTO grants with conditions (decision mail, show
# --json, the central file, the digest); expiry notices on the right days,
# across the end of daylight-saving time and over a holiday; an extension
# asked with EXTEND and approved by CDT; renewals linked to the exemption they
# renew (Renews: and the old case's subject tag); list --expiring. The new
# commands are written in the shapes people reply in: Gmail ("On ... wrote:"),
# Outlook (From:/Sent: block), iPhone ("Sent from my iPhone") and a greeting
# line first. TAP output.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
T=$(mktemp -d /tmp/cgen-life.XXXXXX)
trap 'rm -rf "$T"' EXIT
setup_agent "$T"
# 2026-09-17, the day of the 90-day notice of case 2, is a holiday: the
# notice goes the business day before.
printf '# test holidays\n2026-09-17\n' >"$T/holidays"
sed -i '/^\[workflow\]/a remind_after = 2\nmax_reminders = 2\ndigest_at = 07:00\nholidays_file = holidays' "$T/cgen.conf"
export TZ=America/Los_Angeles

# A greeting line before the command needs the reading rule of the issue
# "Requests and replies as people really write them". Without it, the tests of
# that shape are expected failures (TAP TODO), never silent passes.
printf 'From: a@b.gov\nSubject: Re: x\nMessage-ID: <g@b.gov>\n\nHi team,\n\nAPPROVE\n' >"$T/greeting.eml"
if "$CGENCTL" parse "$T/greeting.eml" --json | grep -q '"command":{"word":"APPROVE"'; then
	GREETING=1
else
	GREETING=0
fi
# is_g DESCRIPTION GOT WANT: "is" for a reply with a greeting line first.
is_g() {
	if [ "$GREETING" = 1 ] || [ "$2" = "$3" ]; then
		is "$1" "$2" "$3"
	else
		tap_n=$((tap_n + 1))
		echo "not ok $tap_n - $1 # TODO needs the greeting rule (reading issue)"
		echo "#   got:  '$2'"
		echo "#   want: '$3'"
	fi
}

# The user trial's replies (../shared/reports/user-trial, read in place), with
# the new words in place of their command: each must read as that command.
U=$top_srcdir/../shared/reports/user-trial
# shape FILE SED WORD ARGUMENT-START DESCRIPTION (ARGUMENT-START "*": any; the
# signature that follows a command is the reading issue's to drop)
shape() {
	if [ ! -f "$U/$1" ]; then
		ok "# SKIP $5: $U is absent"
		return
	fi
	sed "$2" "$U/$1" >"$T/shape.eml"
	got=$("$CGENCTL" parse "$T/shape.eml" --json | sed -n 's/.*"command":{"word":"\([A-Z]*\)","argument":"\([^"\\]*\).*/\1 \2/p')
	[ "$4" = "*" ] && got=${got%% *} && set -- "$1" "$2" "$3" "" "$5" && got="$got "
	case $1 in 25-*) is_g "$5" "$got" "$3 $4" ;; *) is "$5" "$got" "$3 $4" ;; esac
}
shape 21-cio-gmail-approve-looks-good.eml 's/^APPROVE - looks good\r$/ACCEPT - looks good\r/' \
	ACCEPT "looks good" "a Gmail reply (user trial 21) with ACCEPT"
shape 20-aio-outlook-noref-approved.eml 's/^Approved\.\r$/Declined: the annex cannot wait\r/; s/<div>Approved\.<br>/<div>Declined: the annex cannot wait<br>/' \
	DECLINE "the annex cannot wait" "an Outlook reply (user trial 20) with DECLINE"
shape 24-aio-iphone-lowercase-approve.eml 's/^approve\r$/extend 12 months the lease runs late\r/' \
	EXTEND "12 months the lease runs late" "an iPhone reply (user trial 24) with EXTEND, lower case"
shape 34-cto-iphone-approve-conditions.eml \
	's/^Approve\. Review again at renewal\.\r$/PROPOSE CGEN SD-WAN reaches the site in August.\r/' \
	PROPOSE "CGEN SD-WAN reaches the site in August." "an iPhone reply (user trial 34) with PROPOSE"
shape 27-aio-new-outlook-html-only-approved.eml 's/>Approved\.<\/div>/>Accepted.<\/div>/' \
	ACCEPT "*" "a new Outlook HTML-only reply (user trial 27) with Accepted."
shape 25-cio-outlook-greeting-then-approve.eml 's/^APPROVE\r$/DECLINE too slow\r/; s/<br><br>APPROVE<br><br>/<br><br>DECLINE too slow<br><br>/' \
	DECLINE "too slow" "an Outlook reply with a greeting line first (user trial 25) with DECLINE"

# at TIME: cgend --once at that moment (ISO 8601 with offset, or "YYYY-MM-DD
# HH:MM" local); each new outbox file is logged as "LOCAL-TIME KIND TO FILE
# CASE" in $T/log.
seen=0
NOW=
at() {
	t=$(date -d "$1" +%s)
	NOW=$(date -u -d "@$t" +%Y-%m-%dT%H:%M:%SZ)
	"$CGEND" -c "$T/cgen.conf" --once --foreground --now "$NOW" 2>>"$T/cgend.log" ||
		echo "cgend failed at $NOW" >>"$T/log"
	for f in $(ls "$T/outbox/new" | sort -n | tail -n +$((seen + 1))); do
		seen=$((seen + 1))
		to=$(sed -n 's/^X-Envelope-To: <\(.*\)>.*/\1/p' "$T/outbox/new/$f" | tr -d '\r')
		subj=$(header "$T/outbox/new/$f" Subject)
		case $subj in
		*"] CDT proposes a CGEN alternative"*) kind=alt-proposed ;;
		*"] Copy: CDT proposes"*) kind=alt-copy ;;
		*"] CGEN alternative accepted"*) kind=alt-accepted ;;
		*"] Alternative declined"*) kind=alt-declined ;;
		*"] Extension asked"*) kind=ext-request ;;
		*"] Extension of the CGEN exemption"*) kind=ext-decision ;;
		*"] CGEN exemption of "*" ends on "*) kind=expiry ;;
		*"] Reminder "*) kind=reminder ;;
		*"] Overdue:"*) kind=overdue ;;
		*"] Decision:"*) kind=decision ;;
		*"] Approval needed"*) kind=approval-request ;;
		*"] For CDT review"*) kind=cdt-review ;;
		*"] For decision"*) kind=cto-review ;;
		"Not done:"*) kind=refused ;;
		"Not understood:"*) kind=unclear ;;
		"CGEN digest "*) kind=digest ;;
		*) kind=other ;;
		esac
		echo "$(date -d "@$t" '+%a %m-%d %H:%M %Z') $kind $to $f $(case_of_mail "$T/outbox/new/$f")" >>"$T/log"
	done
}
# mail_of CASE KIND TO: the latest such outbox file.
mail_of() {
	f=$(awk -v c="$1" -v k="$2" -v t="$3" '$5 == k && $6 == t && $8 == c { f = $7 } END { print f }' "$T/log")
	[ -n "$f" ] && echo "$T/outbox/new/$f"
}
# when CASE KIND TO: the local times such mails went, "|"-separated.
when() {
	awk -v c="$1" -v k="$2" -v t="$3" '$5 == k && $6 == t && $8 == c { printf "%s %s %s %s|", $1, $2, $3, $4 }' "$T/log"
}
# walk FROM TO STEP: a pass at 07:00 local every STEP days from day FROM to
# day TO (YYYY-MM-DD), and one at 06:59 before it on the days listed in $EDGE.
walk() {
	day=$1
	while [ "$(date -d "$day" +%s)" -le "$(date -d "$2" +%s)" ]; do
		case " ${EDGE:-} " in *" $day "*) at "$day 06:59" ;; esac
		at "$day 07:00"
		day=$(date -d "$day + $3 day" +%Y-%m-%d)
	done
}
ctl_now() { "$CGENCTL" -c "$T/cgen.conf" --now "$NOW" "$@"; }
state_of() { ctl_now show "$1" --json | sed -n 's/^{"id":"[^"]*","state":"\([a-z_]*\)".*/\1/p'; }
json_of() { ctl_now show "$1" --json; }
has() { printf '%s\n' "$1" | grep -q -- "$2"; }

# request NAME MSGID TERM [SUBJECT] [EXTRA-LINE]: a DWR request from Dana.
request() {
	request_mail "Dana Lee <dana.lee@water.ca.gov>" "${4:-Exemption request $1}" "$2@water.ca.gov" DWR |
		sed -e "s/^Contract Term: .*/Contract Term: $3/" |
		if [ -n "${5:-}" ]; then sed "s/^Service Levels: .*/&\\
$5/"; else cat; fi | deliver "$T" "$1"
}

# --- Monday 2026-07-06: four requests, approved, in CDT review
request r1 m1 "36 months"
request r2 m2 "5 months"
request r3 m3 "36 months"
request r4 m4 "24 months"
at "2026-07-06 09:00"
for c in 1 2 3 4; do
	reply "$T" a$c aio@water.ca.gov "$(mail_of CGEN-2026-000$c approval-request aio@water.ca.gov)" "APPROVE"
	reply "$T" c$c cio@water.ca.gov "$(mail_of CGEN-2026-000$c approval-request cio@water.ca.gov)" "APPROVE"
done
at "2026-07-06 10:00"
is "four cases in CDT review" "$(ctl_now list --state cdt_review --json | grep -o '"id"' | wc -l | tr -d ' ')" 4

# --- CDT proposes alternatives: Gmail, Outlook, Gmail, greeting first
REPLY_STYLE=gmail reply "$T" p1 review1@cdt.ca.gov "$(mail_of CGEN-2026-0001 cdt-review review1@cdt.ca.gov)" \
	"PROPOSE CGEN's SD-WAN service reaches the Delta office in August."
REPLY_STYLE=outlook reply "$T" p2 review2@cdt.ca.gov "$(mail_of CGEN-2026-0002 cdt-review review2@cdt.ca.gov)" \
	"PROPOSE: CGEN 100 Mbps at the annex by September
The order would go through CALNET."
REPLY_STYLE=gmail reply "$T" p3 review1@cdt.ca.gov "$(mail_of CGEN-2026-0003 cdt-review review1@cdt.ca.gov)" \
	"PROPOSE a CGEN LTE backup until the fiber arrives"
reply "$T" p4 review1@cdt.ca.gov "$(mail_of CGEN-2026-0004 cdt-review review1@cdt.ca.gov)" \
	"Hi all,

PROPOSE CGEN fixed wireless at the site

Thanks,
Kim"
at "2026-07-06 11:00"
is "PROPOSE in a Gmail reply: alternative_proposed" "$(state_of CGEN-2026-0001)" alternative_proposed
is "PROPOSE in an Outlook reply" "$(state_of CGEN-2026-0002)" alternative_proposed
is_g "PROPOSE after a greeting line" "$(state_of CGEN-2026-0004)" alternative_proposed
f=$(mail_of CGEN-2026-0001 alt-proposed dana.lee@water.ca.gov)
check "the requester is asked, with the reply key" test -n "$(reply_to "$f")"
check "  and the alternative" body_has "$f" "CGEN's SD-WAN service reaches the Delta office in August."
check "  and the commands" body_has "$f" '^  ACCEPT \[comment\]'
check "the AIO has a copy" test -n "$(mail_of CGEN-2026-0001 alt-copy aio@water.ca.gov)"
check "the CIO has a copy" test -n "$(mail_of CGEN-2026-0001 alt-copy cio@water.ca.gov)"
f=$(mail_of CGEN-2026-0002 alt-proposed dana.lee@water.ca.gov)
check "the Outlook PROPOSE keeps its second line" body_has "$f" "^The order would go through CALNET.$"
check "  not the From:/Sent: block" body_lacks "$f" "Sent: Thursday"

# --- the requester answers: ACCEPT (Outlook), DECLINE (iPhone), greeting first
REPLY_STYLE=outlook reply "$T" ac1 dana.lee@water.ca.gov "$(mail_of CGEN-2026-0001 alt-proposed dana.lee@water.ca.gov)" \
	"ACCEPT - we will order it through CDT"
REPLY_STYLE=iphone reply "$T" de2 dana.lee@water.ca.gov "$(mail_of CGEN-2026-0002 alt-proposed dana.lee@water.ca.gov)" \
	"DECLINE the annex opens in August, before CGEN can serve it"
f=$(mail_of CGEN-2026-0004 alt-proposed dana.lee@water.ca.gov)
[ -n "$f" ] && reply "$T" de4 dana.lee@water.ca.gov "$f" "Good morning Kim,

DECLINE fixed wireless fails our uptime need

Dana"
at "2026-07-06 12:00"
is "ACCEPT in an Outlook reply: alternative_accepted" "$(state_of CGEN-2026-0001)" alternative_accepted
is "everyone is told" "$(grep ' alt-accepted ' "$T/log" | awk '{print $6}' | sort | tr '\n' ' ')" \
	"aio@water.ca.gov cio@water.ca.gov dana.lee@water.ca.gov review1@cdt.ca.gov review2@cdt.ca.gov "
check "the ACCEPT comment is recorded" sh -c "'$CGENCTL' -c '$T/cgen.conf' show CGEN-2026-0001 --json | grep -q 'CDT.s alternative accepted: we will order it through CDT'"
is "closed: waiting on nobody" "$(ctl_now list --state alternative_accepted --json | sed 's/"age_days":[0-9]*,//')" \
	'[{"id":"CGEN-2026-0001","state":"alternative_accepted","entity":"DWR","waiting_on":[],"overdue":false}]'
is "DECLINE in an iPhone reply: back to cdt_review" "$(state_of CGEN-2026-0002)" cdt_review
f=$(mail_of CGEN-2026-0002 alt-declined review1@cdt.ca.gov)
check "CDT gets the reason" body_has "$f" '^the annex opens in August, before CGEN can serve it$'
check "  without the iPhone line" body_lacks "$f" 'Sent from my iPhone'
is_g "DECLINE after a greeting line" "$(json_of CGEN-2026-0004 | grep -o '"kind":"alternative_declined"')" \
	'"kind":"alternative_declined"'

# greeting first again: CDT proposes once more, the requester accepts
f=$(mail_of CGEN-2026-0004 alt-declined review2@cdt.ca.gov)
[ -n "$f" ] && reply "$T" p4b review2@cdt.ca.gov "$f" "Hello Dana,

PROPOSE CGEN fiber with a 99.99% SLA from October"
at "2026-07-06 13:00"
f=$(mail_of CGEN-2026-0004 alt-proposed dana.lee@water.ca.gov)
[ -n "$f" ] && reply "$T" ac4 dana.lee@water.ca.gov "$f" "Hi,
ACCEPT"
at "2026-07-06 14:00"
is_g "PROPOSE and ACCEPT after greeting lines" "$(state_of CGEN-2026-0004)" alternative_accepted

# --- reminders and overdue on an unanswered proposal (case 3, since Mon 11:00)
at "2026-07-08 10:59"
at "2026-07-08 11:00"
at "2026-07-09 11:00"
at "2026-07-10 11:00"
at "2026-07-14 10:59"
at "2026-07-14 11:00"
at "2026-07-15 11:00"
is "reminders to the requester: Wed 07-08 and Fri 07-10 at 11:00" \
	"$(when CGEN-2026-0003 reminder dana.lee@water.ca.gov)" "Wed 07-08 11:00 PDT|Fri 07-10 11:00 PDT|"
f=$(mail_of CGEN-2026-0003 reminder dana.lee@water.ca.gov)
check "  with the proposal's reply key" test "$(reply_to "$f")" = "$(reply_to "$(mail_of CGEN-2026-0003 alt-proposed dana.lee@water.ca.gov)")"
check "  and its commands" body_has "$f" '^  DECLINE reason'
is "overdue: CDT told once, Tue 07-14 11:00" "$(when CGEN-2026-0003 overdue review1@cdt.ca.gov)" "Tue 07-14 11:00 PDT|"

# --- case 2: CDT recommends, the CTO grants with conditions (iPhone)
reply "$T" rc2 review1@cdt.ca.gov "$(mail_of CGEN-2026-0002 alt-declined review1@cdt.ca.gov)" \
	"RECOMMEND APPROVE the annex cannot wait for CGEN"
at "2026-07-15 12:00"
REPLY_STYLE=iphone reply "$T" ok2 cto@cdt.ca.gov "$(mail_of CGEN-2026-0002 cto-review cto@cdt.ca.gov)" \
	"Approve. Review again at renewal."
at "2026-07-16 09:00"
is "granted" "$(state_of CGEN-2026-0002)" granted
js=$(json_of CGEN-2026-0002)
check "show --json: the conditions" has "$js" '"conditions":"Review again at renewal."'
check "  the end: 2026-07-16 + 5 months" has "$js" '"ends":"2026-12-16"'
check "  the term and the grant's time" has "$js" '"decided":"2026-07-16T16:00:00Z","term_months":5,"extension_months":0'
f=$(mail_of CGEN-2026-0002 decision dana.lee@water.ca.gov)
check "the decision mail: the conditions" body_has "$f" '^Conditions or reason: Review again at renewal.$'
check "  the end date" body_has "$f" '^The exemption ends on: 2026-12-16$'
check "  what to keep in the central file" body_has "$f" 'maintain a central$'
check "  how to renew" body_has "$f" 'Renews: CGEN-2026-0002'
check "  it carries the reply key (EXTEND)" test -n "$(reply_to "$f")"
check "the AIO's copy has no key" test -z "$(reply_to "$(mail_of CGEN-2026-0002 decision aio@water.ca.gov)")"
ctl_now export --granted "$T/central" >/dev/null
check "the central file's case.json has the conditions" grep -q '"conditions":"Review again at renewal."' "$T/central/CGEN-2026-0002/case.json"
check "  and its index" sh -c "tr -d '\r' <'$T/central/index.csv' | grep -q '^CGEN-2026-0002,DWR,.*,Review again at renewal\\.\$'"
check "verify agrees" ctl_now verify "$T/central"
at "2026-07-17 07:00"
dg=$(mail_of "" digest review1@cdt.ca.gov)
# The digest's text wraps long rows at 78 columns, the rest indented: joined
# here to read a row whole.
joined_has() {
	body_of "$1" | awk 'NR > 1 && /^  [a-z]/ { sub(/^  /, " "); printf "%s", $0; next }
		{ if (NR > 1) print ""; printf "%s", $0 } END { print "" }' | grep -q -- "$2"
}
check "the digest's granted row has the conditions and the end" joined_has "$dg" \
	'CGEN-2026-0002  decided: granted; conditions: Review again at renewal.; ends 2026-12-16 (cto@cdt.ca.gov)'
check "  and counts the accepted alternatives" body_has "$dg" '^  alternative_accepted .*  (closed)$'

# --- expiry notices: ends Wed 2026-12-16. 90 days before: Thu 09-17, a
# holiday, so Wed 09-16; 30 days before: Mon 11-16, after the change to
# standard time on 11-01
# Every day around the notices, every week between them.
EDGE="2026-09-16 2026-11-16"
walk 2026-07-18 2026-09-12 7
walk 2026-09-13 2026-09-18 1
walk 2026-09-25 2026-11-06 7
walk 2026-11-11 2026-11-16 1
check "every cgend pass succeeded" sh -c "! grep -q 'cgend failed' '$T/log'"
is "expiry notices to the requester: Wed 09-16 (09-17 a holiday) and Mon 11-16, 07:00 local" \
	"$(when CGEN-2026-0002 expiry dana.lee@water.ca.gov)" "Wed 09-16 07:00 PDT|Mon 11-16 07:00 PST|"
is "and to each CDT reviewer" "$(when CGEN-2026-0002 expiry review2@cdt.ca.gov)" "Wed 09-16 07:00 PDT|Mon 11-16 07:00 PST|"
is "nobody else" "$(grep ' expiry ' "$T/log" | grep -vc 'dana.lee@\|review[12]@')" 0
f=$(mail_of CGEN-2026-0002 expiry dana.lee@water.ca.gov)
check "the notice: renew or move to CGEN" body_has "$f" '^Renew with a new request, or move to CGEN:$'
check "  the days left" body_has "$f" 'ends on 2026-12-16, in$'
check "  keyed" test -n "$(reply_to "$f")"
dg=$(awk '$5 == "digest" && $6 == "review1@cdt.ca.gov" && $2 == "09-17" { f = $7 } END { print f }' "$T/log")
check "the digest of 09-17 lists it as ending within 90 days" joined_has "$T/outbox/new/$dg" \
	'^  CGEN-2026-0002  DWR       ends 2026-12-16, in 90 days; no renewal request yet$'
dg=$(awk '$5 == "digest" && $6 == "review1@cdt.ca.gov" && $2 == "09-16" { f = $7 } END { print f }' "$T/log")
check "  not the day before (91 days)" body_lacks "$T/outbox/new/$dg" '^  CGEN-2026-0002  DWR       ends'
is "list --expiring 30d" "$(ctl_now list --expiring 30d | awk 'NR > 1 {print $1, $3, $4}')" "CGEN-2026-0002 2026-12-16 30"
check "  as JSON" has "$(ctl_now list --expiring 30d --json)" \
	'"overdue":false,"ends":"2026-12-16","days_left":30,"conditions":"Review again at renewal.","renewed_by":null}]$'
is "list --expiring 29d: none" "$(ctl_now list --expiring 29d | wc -l | tr -d ' ')" 1
is "list --expiring without a number: usage" "$(ctl_now list --expiring soon >/dev/null 2>&1; echo $?)" 64

# --- an extension: EXTEND in a Gmail reply to the notice, CDT approves (Outlook)
reply "$T" ex2 dana.lee@water.ca.gov "$f" "EXTEND 3 months the annex lease runs to March"
at "2026-11-16 10:00"
fx=$(mail_of CGEN-2026-0002 ext-request review1@cdt.ca.gov)
check "EXTEND in a Gmail reply: CDT is asked" test -n "$fx"
check "  with the reason and the end it would have" body_has "$fx" 'with the extension it would end on$'
check "  the extension waits" has "$(json_of CGEN-2026-0002)" '"extension_pending":{"months":3,"reason":"the annex lease runs to March","by":"dana.lee@water.ca.gov"}'
REPLY_STYLE=outlook reply "$T" ea2 review2@cdt.ca.gov "$fx" "APPROVE within the contract's options"
at "2026-11-16 11:00"
js=$(json_of CGEN-2026-0002)
check "CDT's APPROVE: the end moves 3 months" has "$js" '"ends":"2027-03-16"'
check "  recorded as an extension" has "$js" '"extension_months":3,"extension_pending":null'
check "  everyone told" test -n "$(mail_of CGEN-2026-0002 ext-decision aio@water.ca.gov)"
check "  with the new end" body_has "$(mail_of CGEN-2026-0002 ext-decision dana.lee@water.ca.gov)" 'now ends on 2027-03-16'
reply "$T" ex2b dana.lee@water.ca.gov "$(mail_of CGEN-2026-0002 ext-decision dana.lee@water.ca.gov)" \
	"Hi team,

EXTEND 12 months second option"
at "2026-11-16 12:00"
is_g "EXTEND after a greeting line: CDT is asked again" \
	"$(json_of CGEN-2026-0002 | sed -n 's/.*"extension_pending":{"months":\([0-9]*\).*/\1/p')" 12
if [ -n "$(mail_of CGEN-2026-0002 ext-request review1@cdt.ca.gov | grep -v "$fx")" ]; then
	REPLY_STYLE=iphone reply "$T" ed2 review1@cdt.ca.gov "$(mail_of CGEN-2026-0002 ext-request review1@cdt.ca.gov)" \
		"DENY a new request is needed for a second year"
	at "2026-11-16 13:00"
fi
is_g "  and refuses it (DENY, iPhone): the end stays" \
	"$(json_of CGEN-2026-0002 | grep -o '"kind":"extension_denied"')|$(json_of CGEN-2026-0002 | grep -o '"ends":"2027-03-16"')" \
	'"kind":"extension_denied"|"ends":"2027-03-16"'
check "  no extension waits" has "$(json_of CGEN-2026-0002)" '"extension_pending":null'


# after the extension, the notices start again for the new end (Tue 2027-03-16:
# 90 days before is Wed 12-16)
EDGE=2026-12-16
walk 2026-11-17 2026-12-10 7
walk 2026-12-12 2026-12-17 1
is "after the extension: the 90-day notice of the new end, Wed 12-16" \
	"$(when CGEN-2026-0002 expiry dana.lee@water.ca.gov)" "Wed 09-16 07:00 PDT|Mon 11-16 07:00 PST|Wed 12-16 07:00 PST|"
check "and it did not end on 12-16" sh -c "! '$CGENCTL' -c '$T/cgen.conf' show CGEN-2026-0002 --json | grep -q '\"kind\":\"ended\"'"

# --- renewals: Renews: in a new request, and the old case's subject tag
request r5 m5 "24 months" "Renewal of the annex exemption" "Renews: CGEN-2026-0002"
at "2026-12-17 09:00"
js=$(json_of CGEN-2026-0005)
check "Renews: links the new case to the old one" has "$js" '"renews":"CGEN-2026-0002"'
check "  the old one names its renewal" has "$(json_of CGEN-2026-0002)" '"renewed_by":"CGEN-2026-0005"'
f=$(mail_of CGEN-2026-0005 approval-request aio@water.ca.gov)
check "the packet shows the old decision, conditions and end" body_has "$f" \
	'^This request renews an exemption: CGEN-2026-0002, granted 2026-07-16; conditions: "Review again at renewal."; ends 2027-03-16.$'
request r6 m6 "12 months" "Renewal [CGEN-2026-0002] of the annex exemption"
at "2026-12-17 10:00"
check "a request under the old case's subject tag renews it" has "$(json_of CGEN-2026-0006)" '"renews":"CGEN-2026-0002","renewed_by":null'
is "  as a new case waiting on the approvals" "$(state_of CGEN-2026-0006)" awaiting_approvals
request r7 m7 "24 months" "Renewal" "Renews: CGEN-2026-0001"
at "2026-12-17 11:00"
is "Renews: naming a case that was not granted: incomplete" "$(state_of CGEN-2026-0007)" incomplete
check "  saying why" has "$(json_of CGEN-2026-0007)" '"field":"renews","message":"The exemption this request renews, CGEN-2026-0001, is not a granted exemption (it is alternative_accepted)."'

# --- the digest and HELP know the new states
out=$(ctl_now digest --print)
check "the digest counts each state" has "$out" '^  alternative_proposed     '
check "  and lists the case still waiting on the requester's answer" has "$out" 'CGEN-2026-0003  DWR .* alternative_proposed  OVERDUE'
check "  and the exemptions ending soon" has "$out" '^Exemptions ending within 90 days:$'
printf 'From: Ann <ann@water.ca.gov>\nTo: cgen@cdt.ca.gov\nSubject: help\nMessage-ID: <h1@water.ca.gov>\n\nHELP\n' | deliver "$T" h1
at "2026-12-17 12:00"
f=$(last_mail_to "$T" ann@water.ca.gov)
check "HELP names ACCEPT and DECLINE" body_has "$f" 'ACCEPT / DECLINE reason'
check "  and EXTEND" body_has "$f" 'EXTEND length reason' 
check "  and how to renew" body_has "$f" 'Renews: CGEN-YYYY-NNNN'
check "the event chain is intact" ctl_now verify
tap_end
