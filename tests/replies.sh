#!/bin/sh
# replies.sh: replies as people really write them, from the user trial
# (../shared/reports/user-trial/, INDEX.txt) and the reading reproducers of
# the security review (../shared/reports/security/parse/ and f3/), read in
# place. Each trial reply (20-27, 30-34, 40-45, 50-55) is replayed on a case
# of this agent: the keys and case ids it carries are rewritten to those of
# the agent's own message it answers, nothing else is changed. Each parse
# reproducer is checked with `cgenctl parse --json` against the reading a
# person would give it, and the f3 forwards and the duplicate From headers
# are delivered to a running case. A missing folder skips its part; both
# missing is a skip. TAP output.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
UT=$top_srcdir/../shared/reports/user-trial
SEC=$top_srcdir/../shared/reports/security
if [ ! -d "$UT" ] && [ ! -d "$SEC" ]; then
	echo "1..0 # SKIP ../shared/reports absent"
	exit 0
fi
T=$(mktemp -d /tmp/cgen-replies.XXXXXX)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$T"' EXIT
setup_agent "$T"
{ cat "$top_srcdir/etc/entities.csv"
  echo "CDTFA,California Department of Tax and Fee Administration,cdtfa.ca.gov,maria.lopez@cdtfa.ca.gov,cio@cdtfa.ca.gov,,,"
} >"$T/entities.csv"
ctl "$T" directory import "$T/entities.csv" >/dev/null

# new_case FROM ENTITY: a complete request; prints the new case's id.
new_case() {
	n=$(($(cat "$T/.n" 2>/dev/null || echo 0) + 1))
	echo $n >"$T/.n"
	request_mail "$1" "Request $n" "req$n@replies.test" "$2" | deliver "$T" "req$n"
	run_agent "$T"
	ctl "$T" list --json | tr '{' '\n' | sed -n 's/^"id":"\([^"]*\)".*/\1/p' | tail -n 1
}
# mail_about ADDR CASE [SUBJECT-WORDS]: the agent's last mail to ADDR on CASE.
mail_about() {
	for f in $(mails_to "$T" "$1"); do
		header "$f" Subject | grep -q "\[$2\]" || continue
		[ -z "${3:-}" ] || header "$f" Subject | grep -q "$3" || continue
		echo "$f"
	done | tail -n 1
}
key_of() { reply_to "$1" | sed -n 's/.*+\([a-z2-7]\{26\}\)@.*/\1/p'; }
# trial_key FILE: the reply key a trial mail answers.
trial_key() {
	k=$(header "$1" To | sed -n 's/.*+\([a-z2-7]\{26\}\)@.*/\1/p')
	[ -n "$k" ] || k=$(header "$1" In-Reply-To | sed -n 's/.*cgen\.\([a-z2-7]\{26\}\)\..*/\1/p')
	echo "$k"
}
# replay TRIAL ANSWERED OLDCASE NEWCASE: the trial mail, answering the
# agent's mail ANSWERED of case NEWCASE, delivered and handled.
replay() {
	rp_old=$(trial_key "$UT/$1")
	rp_new=$(key_of "$2")
	sed -e "s/$rp_old/$rp_new/g" -e "s/$3/$4/g" "$UT/$1" | deliver "$T" "$1"
	run_agent "$T"
}
approvals() { ctl "$T" show "$1" --json | sed -n 's/.*"approvals":{"aio":"\([a-z]*\)","cio":"\([a-z]*\)"}.*/\1 \2/p'; }
# event CASE KIND: the detail of the case's last event of that kind.
event() {
	ctl "$T" show "$1" --json | tr '{' '\n' | grep "\"kind\":\"$2\"" | tail -n 1 |
		sed -n 's/.*"detail":"\(.*\)"}.*$/\1/p'
}
trial_case() { header "$UT/$1" Subject | sed -n 's/.*\[\(CGEN-[0-9]*-[0-9]*\)\].*/\1/p'; }

if [ -d "$UT" ]; then
	# --- approver replies, 20-27: each on a case of its own ---
	# approve TRIAL ROLE COMMENT: the approval is recorded, with that comment
	# ("" for none) and never the sender's signature.
	approve() {
		c=$(new_case "Dana Lee <dana.lee@water.ca.gov>" DWR)
		m=$(mail_about "$2@water.ca.gov" "$c" "Approval needed")
		replay "$1" "$m" "$(trial_case "$1")" "$c"
		want="pending approved"
		[ "$2" = aio ] && want="approved pending"
		up=$(echo "$2" | tr a-z A-Z)
		is "$1: approval recorded" "$(approvals "$c")" "$want"
		is "$1: comment without signature" "$(event "$c" approved)" "$up approval${3:+: $3}"
	}
	[ -f "$UT/20-aio-outlook-noref-approved.eml" ] && approve 20-aio-outlook-noref-approved.eml aio ""
	[ -f "$UT/21-cio-gmail-approve-looks-good.eml" ] && approve 21-cio-gmail-approve-looks-good.eml cio "looks good"
	[ -f "$UT/22-aio-gmail-i-approve.eml" ] && approve 22-aio-gmail-i-approve.eml aio ""
	[ -f "$UT/24-aio-iphone-lowercase-approve.eml" ] && approve 24-aio-iphone-lowercase-approve.eml aio ""
	[ -f "$UT/25-cio-outlook-greeting-then-approve.eml" ] && approve 25-cio-outlook-greeting-then-approve.eml cio ""
	[ -f "$UT/26-cio-outlook-noref-approve.eml" ] && approve 26-cio-outlook-noref-approve.eml cio ""
	[ -f "$UT/27-aio-new-outlook-html-only-approved.eml" ] && approve 27-aio-new-outlook-html-only-approved.eml aio ""

	# 23: APPROVE sent in reply to the "Not understood" answer.
	f=23-aio-approve-reply-to-not-understood.eml
	if [ -f "$UT/$f" ]; then
		c=$(new_case "Dana Lee <dana.lee@water.ca.gov>" DWR)
		m=$(mail_about aio@water.ca.gov "$c" "Approval needed")
		reply "$T" unsure aio@water.ca.gov "$m" "Let me check with finance first."
		run_agent "$T"
		u=$(mail_about aio@water.ca.gov "$c" "Not understood")
		is "23: the unclear reply is answered \"Not understood\"" "$(test -n "$u" && echo yes)" yes
		is "  which carries the step's reference" "$(key_of "$u")" "$(key_of "$m")"
		check "  and shows the exact line expected" body_has "$u" "^  APPROVE \\[comment\\]"
		check "  and is queued" sh -c "'$CGENCTL' -c '$T/cgen.conf' queue | grep -q 'not understood'"
		old=$(header "$UT/$f" In-Reply-To | tr -d '<>')
		sed -e "s/$old/$(message_id "$u")/g" -e "s/$(trial_case $f)/$c/g" "$UT/$f" | deliver "$T" "$f"
		run_agent "$T"
		is "23: APPROVE in reply to \"Not understood\": approval recorded" "$(approvals "$c")" "approved pending"
	fi

	# --- CDT and CTO, 30-34, on one case ---
	f30=30-cdt-info-outlook.eml
	if [ -f "$UT/$f30" ]; then
		c=$(new_case "Dana Lee <dana.lee@water.ca.gov>" DWR)
		reply "$T" a30 aio@water.ca.gov "$(mail_about aio@water.ca.gov "$c" "Approval needed")" APPROVE
		reply "$T" c30 cio@water.ca.gov "$(mail_about cio@water.ca.gov "$c" "Approval needed")" APPROVE
		run_agent "$T"
		old=$(trial_case $f30)
		replay $f30 "$(mail_about review1@cdt.ca.gov "$c" "For CDT review")" "$old" "$c"
		is "30: INFO from CDT (Outlook): the requester is asked" "$(case_state "$T" "$c")" awaiting_info
		is "  the question has no signature" "$(event "$c" info_requested)" \
			"Can you send the signed quote? Also, has CGEN (AT&T) confirmed in writing that the 2-mile build is needed?"
		q=$(mail_about dana.lee@water.ca.gov "$c" "more information")
		check "  and the mail to the requester neither" body_lacks "$q" "Revi Ewer"
		replay 31-requester-info-answer-gmail-with-attachments.eml "$q" "$old" "$c"
		is "31: the requester's answer goes to CDT" "$(case_state "$T" "$c")" cdt_review
		a=$(event "$c" info_answered)
		is "  without her signature" "$(printf '%b' "$a" | tail -n 1)" \
			"Signed quote attached. AT&T confirmed the build by e-mail on Nov 30 (also attached)."
		replay 32-cdt-note-gmail.eml "$(mail_about review1@cdt.ca.gov "$c" "answer")" "$old" "$c"
		is "32: NOTE recorded" "$(event "$c" note)" "Called AT&T account team, they confirm 14-month build."
		replay 33-cdt-recommend-natural.eml "$(mail_about review2@cdt.ca.gov "$c" "answer")" "$old" "$c"
		is "33: \"Recommend approve - ...\" goes to the CTO" "$(case_state "$T" "$c")" cto_decision
		replay 34-cto-iphone-approve-conditions.eml "$(mail_about cto@cdt.ca.gov "$c" "For decision")" "$old" "$c"
		is "34: the CTO's \"Approve. ...\" from an iPhone grants it" "$(case_state "$T" "$c")" granted
		is "  with the conditions, without \"Sent from my iPhone\"" "$(event "$c" decided)" \
			"granted: Review again at renewal."
		granted=$c
	fi

	# --- STATUS, HELP and AUDIT, 40-45 (new mails, no reference) ---
	# fresh TRIAL OLDCASE NEWCASE: a trial mail with no reference, delivered.
	fresh() {
		sed -e "s/$2/$3/g" "$UT/$1" | deliver "$T" "$1"
		run_agent "$T"
	}
	# last_with ADDR WORDS: the agent's last mail to ADDR whose subject holds WORDS
	# (the daily digest may come in between).
	last_with() {
		for f in $(mails_to "$T" "$1"); do
			header "$f" Subject | grep -q "$2" && echo "$f"
		done | tail -n 1
	}
	last_subject() { header "$(last_with "$1" "${2:-Status}")" Subject; }
	count_with() { for f in $(mails_to "$T" "$1"); do header "$f" Subject | grep -q "$2" && echo "$f"; done | wc -l; }
	# status_is TRIAL ADDR CASE: the trial mail gets one more status answer, for CASE.
	status_is() {
		before=$(count_with "$2" "Status:")
		fresh "$1" "$4" "$3"
		is "$5" "$(count_with "$2" "Status:") $(last_subject "$2" | sed 's/: DWR, .*//')" \
			"$((before + 1)) [$3] Status: waiting for the AIO and CIO approvals"
	}
	open_case=$(new_case "Dana Lee <dana.lee@water.ca.gov>" DWR)
	[ -f "$UT/40-requester-status-new-mail.eml" ] &&
		status_is 40-requester-status-new-mail.eml dana.lee@water.ca.gov "$open_case" CGEN-2026-0006 \
			"40: STATUS CASE from the requester"
	[ -f "$UT/41-requester-natural-status-question.eml" ] &&
		status_is 41-requester-natural-status-question.eml dana.lee@water.ca.gov "$open_case" CGEN-2026-0001 \
			"41: \"Hi, what is the status of CASE?\" gets STATUS"

	if [ -f "$UT/42-help.eml" ]; then
		fresh 42-help.eml x x
		is "42: HELP from anyone: the usage text" "$(last_subject pat.doe@dmv.ca.gov "How to")" \
			"How to use the CGEN exemption request mailbox"
		check "  with the form" body_has "$(last_with pat.doe@dmv.ca.gov "How to")" "Entity:"
	fi
	if [ -f "$UT/43-cdt-audit.eml" ] && [ -n "${granted:-}" ]; then
		fresh 43-cdt-audit.eml x x
		csv=$(awk '/filename=/ { f = 1; next } f && /^\r?$/ { g = 1; next } g && /^--/ { exit } g' \
			"$(last_with review1@cdt.ca.gov Audit)" | tr -d '\r' | base64 -d)
		is "43: AUDIT DWR from CDT: the CSV lists the granted case" \
			"$(echo "$csv" | tr -d '\r' | cut -d, -f1 | tail -n +2)" "$granted"
	fi
	if [ -f "$UT/44-cdt-status-no-id.eml" ]; then
		fresh 44-cdt-status-no-id.eml x x
		m=$(last_with review1@cdt.ca.gov "Open CGEN")
		check "44: STATUS without a case from CDT: the open cases" body_has "$m" "^  $open_case "
		check "  and not the closed ones" body_lacks "$m" "${granted:-none}"
	fi
	[ -f "$UT/45-cdt-status-id.eml" ] &&
		status_is 45-cdt-status-id.eml review1@cdt.ca.gov "$open_case" CGEN-2026-0006 "45: status CASE from CDT"

	# HELP by role: CDT gets its commands and the open cases.
	{ echo "From: Revi Ewer <review1@cdt.ca.gov>"; echo "To: cgen@cdt.ca.gov"; echo "Subject: help"
	  echo "Message-ID: <help-cdt@cdt.ca.gov>"; echo; echo "HELP"; } | deliver "$T" help-cdt
	run_agent "$T"
	m=$(last_with review1@cdt.ca.gov "How to")
	check "HELP from CDT: its commands" body_has "$m" "RECOMMEND APPROVE rationale"
	check "  and the open cases" body_has "$m" "^  $open_case "

	# --- withdraw, reject, delegate, deny: 50-55 ---
	f=50-requester-withdraw-outlook.eml
	if [ -f "$UT/$f" ]; then
		request_mail "Dana Lee <dana.lee@water.ca.gov>" "Incomplete" inc@replies.test DWR |
			sed '/^Provider:/d' | deliver "$T" inc
		run_agent "$T"
		c=$(ctl "$T" list --state incomplete --json | sed -n 's/^\[{"id":"\([^"]*\)".*/\1/p')
		replay $f "$(mail_about dana.lee@water.ca.gov "$c" "Incomplete")" "$(trial_case $f)" "$c"
		is "50: WITHDRAW on an incomplete request (Outlook)" "$(case_state "$T" "$c")" withdrawn
		is "  with the reason, without the quoted form" "$(event "$c" withdrawn)" \
			"withdrawn by the requester: We sent a new one."
	fi
	f=51-aio-reject-mixed-case-address.eml
	if [ -f "$UT/$f" ]; then
		c=$(new_case "Maria Garcia <maria.garcia@cdtfa.ca.gov>" CDTFA)
		replay $f "$(mail_about maria.lopez@cdtfa.ca.gov "$c" "Approval needed")" "$(trial_case $f)" "$c"
		is "51: \"Reject - reason\" from a mixed-case address" "$(case_state "$T" "$c")" rejected
		is "  with the reason" "$(event "$c" rejected)" "AIO rejected: please check the new CGEN static IP option first."
	fi
	if [ -f "$UT/52-delegate-approve.eml" ]; then
		c=$(new_case "Dana Lee <dana.lee@water.ca.gov>" DWR)
		old=$(trial_case 52-delegate-approve.eml)
		replay 52-delegate-approve.eml "$(mail_about aio@water.ca.gov "$c" "Approval needed")" "$old" "$c"
		is "52: the AIO's delegate approves" "$(approvals "$c")" "approved pending"
		replay 53-cio-approved.eml "$(mail_about cio@water.ca.gov "$c" "Approval needed")" "$old" "$c"
		is "53: \"Approved\" from the CIO's iPhone" "$(case_state "$T" "$c")" cdt_review
		replay 54-cdt-recommend-deny.eml "$(mail_about review1@cdt.ca.gov "$c" "For CDT review")" "$old" "$c"
		is "54: RECOMMEND DENY" "$(case_state "$T" "$c")" cto_decision
		replay 55-cto-denied.eml "$(mail_about cto@cdt.ca.gov "$c" "For decision")" "$old" "$c"
		is "55: \"Denied - use CGEN.\" from the CTO" "$(case_state "$T" "$c")" denied
		is "  with the reason" "$(event "$c" decided)" "denied: use CGEN."
	fi
fi

if [ -d "$SEC/parse" ] && [ -z "${ONLY_UT:-}" ]; then
	# --- the parse reproducers: what `cgenctl parse --json` reads ---
	# parse_is FILE FROM COMMAND: the sender ("null" for none) and the
	# command word ("null", or "AMBIGUOUS" for an unclear line).
	parse_is() {
		j=$("$CGENCTL" -c "$T/cgen.conf" parse "$SEC/parse/$1" --json)
		from=$(echo "$j" | sed -n 's/^{"from":\(null\|"[^"]*"\).*/\1/p' | tr -d '"')
		word=$(echo "$j" | sed -n 's/.*"command":{"word":"\([A-Z]*\)".*/\1/p')
		[ -n "$word" ] || word=null
		echo "$j" | grep -q '"ambiguous":true' && word=AMBIGUOUS
		is "parse/$1: sender $2, command $3" "$from $word" "$2 $3"
	}
	while read -r f from word; do
		[ -f "$SEC/parse/$f" ] && parse_is "$f" "$from" "$word"
	done <<'LIST'
alt_html_first.eml aio@water.ca.gov AMBIGUOUS
alt_plain_reject_html_approve.eml aio@water.ca.gov AMBIGUOUS
b64_html.eml aio@water.ca.gov null
cyr.eml aio@water.ca.gov null
ebcdic.eml aio@water.ca.gov APPROVE
from_comment.eml eve@evil.example APPROVE
from_comment2.eml eve@evil.example APPROVE
from_cyr.eml aio@wаter.ca.gov APPROVE
from_dup.eml null APPROVE
from_esc.eml eve@evil.example APPROVE
from_ew.eml eve@evil.example APPROVE
from_ew_addr.eml null APPROVE
from_group.eml null APPROVE
from_hdrspace.eml null APPROVE
from_idn.eml null APPROVE
from_lt.eml null APPROVE
from_nul.eml null APPROVE
from_quoted_local.eml aio@water.ca.gov APPROVE
from_route.eml null APPROVE
from_semicolon.eml null APPROVE
from_space.eml aio@water.ca.gov APPROVE
from_trailing_dot.eml null APPROVE
from_two.eml null APPROVE
from_two_angle.eml null APPROVE
from_unq.eml eve@evil.example APPROVE
from_upper.eml aio@water.ca.gov APPROVE
fullwidth.eml aio@water.ca.gov null
html_comment.eml aio@water.ca.gov REJECT
html_comment2.eml aio@water.ca.gov APPROVE
html_hidden.eml aio@water.ca.gov REJECT
html_hidden_attr.eml aio@water.ca.gov AMBIGUOUS
html_img_alt.eml aio@water.ca.gov null
html_pre_quote.eml aio@water.ca.gov APPROVE
html_quote.eml aio@water.ca.gov null
html_script.eml aio@water.ca.gov null
html_style.eml aio@water.ca.gov null
html_sub.eml aio@water.ca.gov APPROVE
html_tiny.eml aio@water.ca.gov null
html_white.eml aio@water.ca.gov null
mixed_plain_html.eml aio@water.ca.gov AMBIGUOUS
nested_rfc822.eml aio@water.ca.gov null
rfc822_first.eml aio@water.ca.gov null
rtl.eml aio@water.ca.gov null
utf7.eml aio@water.ca.gov APPROVE
zw.eml aio@water.ca.gov AMBIGUOUS
zw_mid.eml aio@water.ca.gov null
LIST
	# Every reproducer: parse --json gives one JSON object and exits 0.
	bad=
	for f in "$SEC"/parse/*.eml; do
		"$CGENCTL" -c "$T/cgen.conf" parse "$f" --json >"$T/p.json" 2>"$T/p.err" &&
			grep -q '^{"from":.*"attachments":\[.*\]}$' "$T/p.json" && [ ! -s "$T/p.err" ] ||
			bad="$bad $(basename "$f")"
	done
	is "parse/*.eml: every one parses cleanly" "${bad:-none}" none
fi

# --- the forwards of f3 and the duplicate From headers, on a live case ---
c=$(new_case "Dana Lee <dana.lee@water.ca.gov>" DWR)
aio=$(mail_about aio@water.ca.gov "$c" "Approval needed")
to=$(reply_to "$aio")
# forward FILE: a reproducer's body under our own header, to the AIO's key.
forward() {
	{ echo "From: aio@water.ca.gov"; echo "To: $to"; echo "Subject: Fw: [$c] Approval needed"
	  echo "Message-ID: <$(basename "$1").fw@water.ca.gov>"
	  sed -e '1,/^$/{/^MIME-Version:/p;/^Content-Type:/p;/^$/p;d}' "$1"; } | deliver "$T" "$(basename "$1")"
	run_agent "$T"
}
for f in mail.eml mail2.eml gmail_style.eml; do
	[ -f "$SEC/f3/$f" ] || continue
	forward "$SEC/f3/$f"
	is "f3/$f: a forwarded message gives the AIO no command" "$(approvals "$c")" "pending pending"
done
for f in from_dup.eml from_hdrspace.eml; do
	[ -f "$SEC/parse/$f" ] || continue
	sed -e "s/^To: .*/To: $to/" -e "s/CGEN-2026-0001/$c/" -e "s/<m@x>/<$f@x>/" "$SEC/parse/$f" | deliver "$T" "$f"
	run_agent "$T"
	is "parse/$f: no approval" "$(approvals "$c")" "pending pending"
	check "  queued with the reason" sh -c \
		"'$CGENCTL' -c '$T/cgen.conf' queue | grep -q 'more than one From header'"
done
tap_end
