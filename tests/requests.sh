#!/bin/sh
# Requests as people write them, end to end: the real cgend --once on a
# Maildir reads the user trial's request mails (../shared/reports/user-trial,
# in place; those points are skipped when it is absent) and mails of the
# request suite (tests/request-mails/); the answers in the outbox are checked: an
# acknowledgment that says where the form was read, never the usage text for
# a forward, the incomplete answer carrying the form prefilled with each
# problem marked, a corrected form sent back as it came (the "(!)" lines
# left in) accepted, reminders carrying the prefilled form. TAP output.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
T=$(mktemp -d /tmp/cgen-req.XXXXXX)
trap 'rm -rf "$T"' EXIT
setup_agent "$T"
ctl "$T" directory import "$top_srcdir/tests/request-mails/entities.csv" >/dev/null
R=$top_srcdir/tests/request-mails
TRIAL=$top_srcdir/../shared/reports/user-trial
help_mails() { grep -l '^Subject: How to use the CGEN' "$T"/outbox/new/* 2>/dev/null | wc -l | tr -d ' '; }
skip() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $* # SKIP ../shared/reports/user-trial absent"; }
# body_has FILE TEXT: an outbox mail's body has a line starting with TEXT.
body_has() { body_of "$1" | grep -qF -- "$2"; }
body_lacks() { ! body_of "$1" | grep -q -- "$2"; }
# marked FILE LINE MARK: in an outbox mail's body, the line after LINE is MARK.
marked() { [ "$(body_of "$1" | grep -A1 -xF -- "$2" | sed -n 2p)" = "$3" ]; }
queue_has() { ctl "$T" queue | grep -qF -- "$1"; }
problems_cleared() { ctl "$T" show "$1" --json | grep -q '"problems":\[\]'; }
fields_lack() { ! ctl "$T" show "$1" --json | sed 's/"events".*//' | grep -q -- "$2"; }

# --- the user trial's requests: every one opens a case awaiting approvals
if [ -d "$TRIAL" ]; then
	n=0
	for f in "$TRIAL"/0[1-9]-*.eml "$TRIAL"/1[1-3]-*.eml; do
		deliver "$T" "trial-$(basename "$f")" <"$f"
		n=$((n + 1))
	done
	run_agent "$T"
	is "user trial: the $n requests open $n cases" "$(ctl "$T" list --json | grep -o '"id"' | wc -l | tr -d ' ')" "$n"
	is "user trial: all of them await the approvals" \
		"$(ctl "$T" list --state awaiting_approvals --json | grep -o '"id"' | wc -l | tr -d ' ')" "$n"
	is "user trial: nobody gets the usage text" "$(help_mails)" 0
	is "user trial: nothing waits in the operator queue" "$(ctl "$T" queue --json)" "[]"
	fwd=$(last_mail_to "$T" bob.chen@water.ca.gov)
	check "the forwarding manager gets the acknowledgment" grep -q '^Subject: \[CGEN-20' "$fwd"
	check "  it says the form was read from the forwarded message" \
		grep -q 'read from the message you forwarded' "$fwd"
	inline=$(last_mail_to "$T" maria.garcia@cdtfa.ca.gov)
	for f in $(mails_to "$T" maria.garcia@cdtfa.ca.gov); do
		grep -q 'below the quoted header' "$f" && inline=$f
	done
	check "the form filled in below an Outlook header is read" grep -q 'below the quoted header' "$inline"
	check "no signature in the fields of the Word-pasted request" \
		fields_lack CGEN-2026-0001 "555-0142\|IT Manager\|Thanks"
else
	for p in 1 2 3 4 5 6 7 8; do skip "user trial point $p"; done
fi
base=$(count_mails "$T")

# --- an incomplete request: the prefilled form, corrected and sent back
deliver "$T" r36 <"$R/r36-incomplete-outlook-no-address.eml"
run_agent "$T"
inc=$(last_mail_to "$T" dana.lee@water.ca.gov)
id=$(case_of_mail "$inc")
is "the request without a street address is incomplete" "$(case_state "$T" "$id")" incomplete
check "  the answer marks the problem under its item" marked "$inc" \
	"- 2 x 100 Mbps Dedicated Internet Access, West Sacramento yard" "(!) Service 1 has no street address."
check "  and carries the rest of the form as read" body_has "$inc" 'Total Cost: $36,000.00'
check "  no signature in it" body_lacks "$inc" "555-0142"
# The requester fixes the one line and sends the form back, "(!)" lines and all.
fixed=$(body_of "$inc" | sed -n '/^Entity:/,/^Service Levels:/p' |
	sed 's/, West Sacramento yard$/ at 3500 Industrial Blvd, West Sacramento, CA 95691/')
REPLY_STYLE=outlook reply "$T" r36b "Dana Lee <dana.lee@water.ca.gov>" "$inc" "$fixed"
run_agent "$T"
is "the corrected form sent back as it came is accepted" "$(case_state "$T" "$id")" awaiting_approvals
check "  the problems are cleared" problems_cleared "$id"

# --- reminders of an incomplete request carry the prefilled form
deliver "$T" r37 <"$R/r37-incomplete-gmail-missing-fields.eml"
run_agent "$T"
inc=$(last_mail_to "$T" pat.moreno@state.ca.gov)
id=$(case_of_mail "$inc")
is "a request missing two fields is incomplete" "$(case_state "$T" "$id")" incomplete
"$CGEND" -c "$T/cgen.conf" --once --foreground --now 2026-12-03T10:00:00-08:00 2>>"$T/cgend.log"
rem=$(last_mail_to "$T" pat.moreno@state.ca.gov)
check "the reminder goes to the requester" grep -q '^Subject: \[.*\] Reminder 1' "$rem"
check "  with the form prefilled and the problems marked" \
	marked "$rem" "Early Termination:" "(!) Early Termination is missing."

# --- a forward without a form: what was missing, never the usage text
before=$(help_mails)
deliver "$T" r43 <"$R/r43-fwd-without-form.eml"
run_agent "$T"
nf=$(last_mail_to "$T" bob.chen@water.ca.gov)
check "a forward without a form is answered" grep -q '^Subject: No request form found' "$nf"
check "  with what is missing" marked "$nf" "Entity:" "(!) Entity is missing."
is "  not with the usage text" "$(help_mails)" "$before"
check "  and waits in the operator queue" queue_has "forwarded mail without a request form"

# --- a form in a .docx attachment
deliver "$T" r32 <"$R/r32-attachment-docx-table.eml"
run_agent "$T"
ack=$(last_mail_to "$T" kim.nguyen@dmv.ca.gov)
check "a form in a .docx attachment opens a case" grep -q '^Subject: \[CGEN-20.*\] Request received' "$ack"
check "  the acknowledgment names the attachment" \
	body_has "$ack" 'read from the attachment "CGEN request DMV.docx"'
check "no sanitizer or error report in the daemon log" \
	eval '! grep -q "runtime error\|AddressSanitizer\|ERROR" "$T/cgend.log"'
tap_end
