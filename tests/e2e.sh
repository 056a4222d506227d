#!/bin/sh
# End to end: the real cgend --once on a Maildir, file outbox, through every
# path of DESIGN.md section 3. TAP output.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
T=$(mktemp -d /tmp/cgen-e2e.XXXXXX)
trap 'rm -rf "$T"' EXIT
setup_agent "$T"
subject_of() { header "$1" Subject; }
approvals() { ctl "$T" show "$1" --json | sed -n 's/.*"approvals":{"aio":"\([a-z]*\)","cio":"\([a-z]*\)"}.*/\1 \2/p'; }

# --- A: complete request -> AIO, CIO -> CDT INFO round trip -> RECOMMEND -> CTO APPROVE
request_mail "Dana Lee <dana.lee@water.ca.gov>" "CGEN exemption: Delta field office" \
	req-a@water.ca.gov "Department of Water Resources" | deliver "$T" a1
run_agent "$T"
is "request opens case 0001 awaiting approvals" "$(case_state "$T" CGEN-2026-0001)" awaiting_approvals
is "three mails: ack, two approval requests" "$(count_mails "$T")" 3
ack=$(last_mail_to "$T" dana.lee@water.ca.gov)
check "ack to the requester carries the case tag" grep -q '^Subject: \[CGEN-2026-0001\] Request received' "$ack"
aio=$(last_mail_to "$T" aio@water.ca.gov)
cio=$(last_mail_to "$T" cio@water.ca.gov)
check "approval request to the AIO" grep -q 'Approval needed (AIO)' "$aio"
check "approval request to the CIO" grep -q 'Approval needed (CIO)' "$cio"
check "approval request has a keyed Reply-To" sh -c "grep -Eq '^Reply-To: cgen\+[a-z2-7]{26}@cdt.ca.gov' '$aio'"
check "approval request body carries Ref: KEY" sh -c "grep -Eq '^Ref: [a-z2-7]{26}' '$aio'"
check "outgoing mail is auto-generated" grep -q '^Auto-Submitted: auto-generated' "$aio"
check "answers are auto-replied" grep -q '^Auto-Submitted: auto-replied' "$ack"
check "outbox file starts with the envelope" sh -c "head -n 1 '$aio' | grep -q '^X-Envelope-From: <cgen@cdt.ca.gov>'"
crlf_only() { [ "$(wc -l <"$1")" -eq "$(tr -cd '\r' <"$1" | wc -c)" ]; }
check "outgoing mail uses CRLF, no bare LF" crlf_only "$aio"

reply "$T" a2 "AIO <aio@water.ca.gov>" "$aio" "APPROVE"
run_agent "$T"
is "AIO approval recorded, CIO pending" "$(approvals CGEN-2026-0001)" "approved pending"
is "still awaiting approvals" "$(case_state "$T" CGEN-2026-0001)" awaiting_approvals
check "AIO gets a confirmation" grep -q 'Approval recorded' "$(last_mail_to "$T" aio@water.ca.gov)"

REPLY_STYLE=outlook reply "$T" a3 "CIO <cio@water.ca.gov>" "$cio" "Approved - thanks"
run_agent "$T"
is "both approvals -> cdt_review" "$(case_state "$T" CGEN-2026-0001)" cdt_review
r1=$(last_mail_to "$T" review1@cdt.ca.gov)
check "CDT reviewer 1 gets the review request" grep -q 'For CDT review' "$r1"
check "CDT reviewer 2 gets the review request" grep -q 'For CDT review' "$(last_mail_to "$T" review2@cdt.ca.gov)"
check "requester is told it is with CDT" grep -q 'under review at CDT' "$(last_mail_to "$T" dana.lee@water.ca.gov)"

reply "$T" a4 "review1@cdt.ca.gov" "$r1" "INFO Is the Delta site leased beyond 2029?"
run_agent "$T"
is "INFO -> awaiting_info" "$(case_state "$T" CGEN-2026-0001)" awaiting_info
q=$(last_mail_to "$T" dana.lee@water.ca.gov)
check "question mailed to the requester" grep -q 'Is the Delta site leased beyond 2029' "$q"

reply "$T" a5 "Dana Lee <dana.lee@water.ca.gov>" "$q" "Yes, the lease runs until 2032."
run_agent "$T"
is "answer -> cdt_review" "$(case_state "$T" CGEN-2026-0001)" cdt_review
ans=$(last_mail_to "$T" review2@cdt.ca.gov)
check "answer forwarded to CDT" grep -q 'the lease runs until 2032' "$ans"
check "the quoted question is not forwarded as the answer" body_lacks "$ans" 'wrote:' 

reply "$T" a6 "review2@cdt.ca.gov" "$ans" "RECOMMEND APPROVE no CGEN service within 40 miles"
run_agent "$T"
is "RECOMMEND -> cto_decision" "$(case_state "$T" CGEN-2026-0001)" cto_decision
cto=$(last_mail_to "$T" cto@cdt.ca.gov)
check "CTO gets the packet with the recommendation" grep -q 'CDT recommends APPROVE' "$cto"

REPLY_STYLE=iphone reply "$T" a7 "CTO <cto@cdt.ca.gov>" "$cto" "APPROVE review again at renewal"
run_agent "$T"
is "CTO APPROVE -> granted" "$(case_state "$T" CGEN-2026-0001)" granted
for who in dana.lee@water.ca.gov aio@water.ca.gov cio@water.ca.gov review1@cdt.ca.gov review2@cdt.ca.gov; do
	check "decision mailed to $who" grep -q 'Decision: exemption granted' "$(last_mail_to "$T" $who)"
done
check "granted case shows closed waiting_on []" sh -c "'$CGENCTL' -c '$T/cgen.conf' --now $(clock $T) list --json | grep -q '\"id\":\"CGEN-2026-0001\",\"state\":\"granted\",\"entity\":\"DWR\",\"waiting_on\":\[\]'"

# --- B: incomplete -> corrected -> accepted
request_mail "Pat Kim <pat.kim@dmv.ca.gov>" "Exemption request" req-b@dmv.ca.gov "DMV" "" |
	sed '/^Total Cost:/d' | deliver "$T" b1
run_agent "$T"
B=CGEN-2026-0002
is "missing Total Cost -> incomplete" "$(case_state "$T" $B)" incomplete
inc=$(last_mail_to "$T" pat.kim@dmv.ca.gov)
check "incomplete reply names the field" body_has "$inc" 'Total Cost is missing' 
check "incomplete reply carries the blank form" body_has "$inc" '^Reason Category:' 
check "show --json lists the problem by field" sh -c "'$CGENCTL' -c '$T/cgen.conf' --now $(clock $T) show $B --json | grep -q '\"problems\":\[{\"field\":\"total_cost\"'"
fixed=$(request_mail x y z "DMV" | sed -n '/^Entity:/,/^Service Levels:/p')
reply "$T" b2 "Pat Kim <pat.kim@dmv.ca.gov>" "$inc" "$fixed"
run_agent "$T"
is "corrected form -> awaiting_approvals" "$(case_state "$T" $B)" awaiting_approvals
check "DMV AIO asked" grep -q "\[$B\] Approval needed" "$(last_mail_to "$T" aio@dmv.ca.gov)"
check "problems cleared" sh -c "'$CGENCTL' -c '$T/cgen.conf' --now $(clock $T) show $B --json | grep -q '\"problems\":\[\]'"

# --- C: exempt entity -> not_required
request_mail "Lee <lee@calstate.edu>" "CGEN exemption" req-c@calstate.edu "California State University" | deliver "$T" c1
run_agent "$T"
is "exempt entity -> not_required" "$(case_state "$T" CGEN-2026-0003)" not_required
check "requester told no exemption is needed" grep -q 'No exemption needed' "$(last_mail_to "$T" lee@calstate.edu)"
is "no approval request to the exempt entity" "$(mails_to "$T" aio@calstate.edu | wc -l | tr -d ' ')" 0

# --- D: REJECT (one address is both AIO and CIO: one mail)
request_mail "Sam <sam@chp.ca.gov>" "CGEN exemption" req-d@chp.ca.gov "CHP" | deliver "$T" d1
run_agent "$T"
D=CGEN-2026-0004
is "one approval request when AIO and CIO are one address" "$(mails_to "$T" it.chief@chp.ca.gov | wc -l | tr -d ' ')" 1
chief=$(last_mail_to "$T" it.chief@chp.ca.gov)
check "it asks for both roles" grep -q 'Approval needed (AIO and CIO)' "$chief"
reply "$T" d2 "it.chief@chp.ca.gov" "$chief" "REJECT the budget is frozen until July"
run_agent "$T"
is "REJECT -> rejected" "$(case_state "$T" $D)" rejected
check "requester told of the rejection and the reason" body_has "$(last_mail_to "$T" sam@chp.ca.gov)" 'the budget is frozen until July' 

# --- E: one APPROVE counts for both roles; RECOMMEND DENY; CTO DENY
request_mail "Sam <sam@chp.ca.gov>" "CGEN exemption 2" req-e@chp.ca.gov "CHP" | deliver "$T" e1
run_agent "$T"
E=CGEN-2026-0005
reply "$T" e2 "it.chief@chp.ca.gov" "$(last_mail_to "$T" it.chief@chp.ca.gov)" "APPROVE."
run_agent "$T"
is "one APPROVE from the AIO-and-CIO address -> cdt_review" "$(case_state "$T" $E)" cdt_review
is "both approvals recorded" "$(approvals $E)" "approved approved"
reply "$T" e3 "review1@cdt.ca.gov" "$(last_mail_to "$T" review1@cdt.ca.gov)" "RECOMMEND DENY CGEN serves this site"
run_agent "$T"
is "RECOMMEND DENY -> cto_decision" "$(case_state "$T" $E)" cto_decision
reply "$T" e4 "cto@cdt.ca.gov" "$(last_mail_to "$T" cto@cdt.ca.gov)" "DENY use the CGEN circuit"
run_agent "$T"
is "CTO DENY -> denied" "$(case_state "$T" $E)" denied
check "requester gets the denial" grep -q 'Decision: exemption denied' "$(last_mail_to "$T" sam@chp.ca.gov)"

# --- F: WITHDRAW
request_mail "Dana Lee <dana.lee@water.ca.gov>" "Second site" req-f@water.ca.gov "DWR" | deliver "$T" f1
run_agent "$T"
F=CGEN-2026-0006
ackf=$(last_mail_to "$T" dana.lee@water.ca.gov)
aiof=$(last_mail_to "$T" aio@water.ca.gov)
reply "$T" f2 "dana.lee@water.ca.gov" "$ackf" "WITHDRAW we found CGEN capacity after all"
run_agent "$T"
is "WITHDRAW -> withdrawn" "$(case_state "$T" $F)" withdrawn
check "the AIO waiting on it is told" grep -q "\[$F\] Request withdrawn" "$(last_mail_to "$T" aio@water.ca.gov)"
n_before=$(count_mails "$T")
reply "$T" f3 "aio@water.ca.gov" "$aiof" "APPROVE"
run_agent "$T"
is "APPROVE on a withdrawn case changes nothing" "$(case_state "$T" $F)" withdrawn
check "and is answered with a refusal" grep -q '^Subject: .*Not done' "$(last_mail_to "$T" aio@water.ca.gov)"

# --- G: spoofed From with a valid key; forged aio From without key
request_mail "Dana Lee <dana.lee@water.ca.gov>" "Third site" req-g@water.ca.gov "DWR" | deliver "$T" g1
run_agent "$T"
G=CGEN-2026-0007
aiog=$(last_mail_to "$T" aio@water.ca.gov)
reply "$T" g2 "Eve <eve@evil.example>" "$aiog" "APPROVE"
run_agent "$T"
is "spoofed From with the AIO's key: no approval" "$(approvals $G)" "pending pending"
check "the attempt is recorded on the case" sh -c "'$CGENCTL' -c '$T/cgen.conf' --now $(clock $T) show $G --json | grep -q '\"kind\":\"refused\",\"actor\":\"eve@evil.example\"'"
check "the attempt waits in the operator queue" sh -c "'$CGENCTL' -c '$T/cgen.conf' --now $(clock $T) queue --json | grep -q 'eve@evil.example'"
{
	echo "From: aio@water.ca.gov"; echo "To: cgen@cdt.ca.gov"
	echo "Subject: RE: [$G] Approval needed"; echo "Message-ID: <forged-g3@evil.example>"; echo
	echo "APPROVE"
} | deliver "$T" g3
run_agent "$T"
is "AIO address without a reply key: no approval" "$(approvals $G)" "pending pending"
reply "$T" g4 "Deputy <deputy.aio@water.ca.gov>" "$aiog" "APPROVE on behalf of the AIO"
run_agent "$T"
is "a listed delegate may answer the AIO's request" "$(approvals $G)" "approved pending"

# --- H: auto-reply ignored, never answered
n_before=$(count_mails "$T")
{
	echo "From: cio@water.ca.gov"; echo "To: $(reply_to "$(last_mail_to "$T" cio@water.ca.gov)")"
	echo "Subject: Automatic reply: [$G] Approval needed"; echo "Auto-Submitted: auto-replied"
	echo "Message-ID: <ooo-h1@water.ca.gov>"; echo
	echo "APPROVE"; echo "I am out of the office until Monday."
} | deliver "$T" h1
run_agent "$T"
is "auto-reply: no approval" "$(approvals $G)" "approved pending"
is "auto-reply: nothing sent" "$(count_mails "$T")" "$n_before"

# --- I: unknown entity: one reply, no case, queued
n_cases=$(ctl "$T" list --json | grep -o '"id"' | wc -l)
request_mail "Harry <harry@gmail.com>" "Exemption please" req-i@gmail.com "Ministry of Magic" | deliver "$T" i1
run_agent "$T"
is "unknown entity opens no case" "$(ctl "$T" list --json | grep -o '"id"' | wc -l)" "$n_cases"
check "the sender is told why" grep -q 'not in CDT' "$(last_mail_to "$T" harry@gmail.com)"
check "the mail is in the operator queue" sh -c "'$CGENCTL' -c '$T/cgen.conf' --now $(clock $T) queue | grep -q 'harry@gmail.com'"
request_mail "Mallory <mallory@dmv.ca.gov>" "Exemption" req-i2@dmv.ca.gov "DWR" | deliver "$T" i2
run_agent "$T"
check "a sender outside the entity's domains is refused" grep -q 'not in the mail domains' "$(last_mail_to "$T" mallory@dmv.ca.gov)"

# --- J: HELP, FORM, STATUS, an ambiguous command
{ echo "From: someone@water.ca.gov"; echo "To: cgen@cdt.ca.gov"; echo "Subject: help"; echo "Message-ID: <j1@x>"; echo; echo "HELP"; } | deliver "$T" j1
{ echo "From: other@water.ca.gov"; echo "To: cgen@cdt.ca.gov"; echo "Subject: form"; echo "Message-ID: <j2@x>"; echo; echo "FORM"; } | deliver "$T" j2
{ echo "From: dana.lee@water.ca.gov"; echo "To: cgen@cdt.ca.gov"; echo "Subject: status"; echo "Message-ID: <j3@x>"; echo; echo "STATUS CGEN-2026-0001"; } | deliver "$T" j3
run_agent "$T"
check "HELP answered with the usage text" grep -q 'How to use the CGEN' "$(last_mail_to "$T" someone@water.ca.gov)"
check "FORM answered with the blank form" grep -q 'request form' "$(last_mail_to "$T" other@water.ca.gov)"
check "STATUS answered to a party" grep -q "\[CGEN-2026-0001\] Status: granted" "$(last_mail_to "$T" dana.lee@water.ca.gov)"
cio_g=$(last_mail_to "$T" cio@water.ca.gov)
reply "$T" j4 "cio@water.ca.gov" "$cio_g" "I do not approve this"
run_agent "$T"
is "an ambiguous reply changes nothing" "$(approvals $G)" "approved pending"
check "and asks for a clear command" grep -q 'Not understood' "$(last_mail_to "$T" cio@water.ca.gov)"

# --- AUDIT: the granted exemptions of an entity, as CSV, to CDT only
{ echo "From: review2@cdt.ca.gov"; echo "To: cgen@cdt.ca.gov"; echo "Subject: audit"; echo "Message-ID: <k1@cdt.ca.gov>"
  echo; echo "AUDIT DWR"; } | deliver "$T" k1
run_agent "$T"
audit=$(last_mail_to "$T" review2@cdt.ca.gov)
check "AUDIT answered to CDT with a CSV attachment" grep -q '^Content-Type: text/csv' "$audit"
csv=$(tr -d '\r' <"$audit" | awk '/^Content-Type: text\/csv/ { f = 1 } f && /^$/ { b = 1; next } b && /^--/ { exit } b { print }' | base64 -d)
is "the CSV lists the granted DWR case and only it" "$(echo "$csv" | tail -n +2 | cut -d, -f1,2)" "CGEN-2026-0001,DWR"
check "its header names the columns" sh -c "echo '$csv' | head -n 1 | grep -q '^id,entity,requester,provider,total_cost_cents'"

# --- the store
check "cgenctl verify: chain intact" "$CGENCTL" -c "$T/cgen.conf" verify
check "every outbox file is a complete mail" sh -c "for f in '$T'/outbox/new/*.eml; do grep -q '^Message-ID: <cgen\.' \"\$f\" || exit 1; done"
check "nothing left unseen in the Maildir" sh -c "[ -z \"\$(ls '$T/Maildir/new')\" ]"
check "no sanitizer or error report in the daemon log" sh -c "! grep -Eq 'ERROR: AddressSanitizer|runtime error|LeakSanitizer' '$T/cgend.log'"
tap_end
