#!/bin/sh
# An operator's acts outside mail (cgenctl approve, reassign, cancel, reopen,
# resend, outbox drop), each an event naming the operator; outbox expiry
# after [smtp] max_queue_lifetime with an event and a digest line; journal
# priority prefixes and log lines naming the mail and its case. TAP output.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
T=$(mktemp -d /tmp/cgen-ops.XXXXXX)
trap 'rm -rf "$T"' EXIT
setup_agent "$T"
rc() { "$@" >/dev/null 2>&1; echo $?; }
events() { ctl "$T" show "$1" --json; }

request_mail "Dana <dana@water.ca.gov>" "Delta office" op1@water.ca.gov DWR | deliver "$T" o1
run_agent "$T"
C=CGEN-2026-0001
is "a request awaits approvals" "$(case_state "$T" $C)" awaiting_approvals

# approve: an approval given outside mail, with its reason
is "approve without --reason: usage error" "$(rc ctl "$T" approve $C --as aio)" 64
is "approve --as aio: exit 0" "$(rc ctl "$T" approve $C --as aio --by ana --reason "signed memo of 2026-11-30")" 0
check "  an event names the operator and the reason" sh -c "'$CGENCTL' -c '$T/cgen.conf' show $C --json | grep -q '\"kind\":\"approved\",\"actor\":\"operator:ana\",\"detail\":\"AIO approval given outside mail, recorded by ana: signed memo of 2026-11-30\"'"
is "  the same approval again is refused: exit 1" "$(rc ctl "$T" approve $C --as aio --by ana --reason again)" 1
# reassign the CIO of this case only
is "reassign cio: exit 0" "$(rc ctl "$T" reassign $C cio Deputy.CIO@water.ca.gov --by ana --reason "CIO on leave")" 0
run_agent "$T"
f=$(last_mail_to "$T" deputy.cio@water.ca.gov)
check "  the new CIO gets the approval request" grep -q 'Approval needed (CIO)' "$f"
check "  an event says who was replaced" sh -c "'$CGENCTL' -c '$T/cgen.conf' show $C --json | grep -q 'cio of this case: deputy.cio@water.ca.gov instead of cio@water.ca.gov, by ana: CIO on leave'"
reply "$T" o2 "cio@water.ca.gov" "$(last_mail_to "$T" cio@water.ca.gov)" "APPROVE"
run_agent "$T"
is "  the former CIO's APPROVE no longer counts" "$(case_state "$T" $C)" awaiting_approvals
reply "$T" o3 "deputy.cio@water.ca.gov" "$f" "APPROVE"
run_agent "$T"
is "  the new CIO's APPROVE does: cdt_review" "$(case_state "$T" $C)" cdt_review

# resend the latest mails of the case
n=$(count_mails "$T")
is "resend --to one address: exit 0" "$(rc ctl "$T" resend $C --to review1@cdt.ca.gov --by ana)" 0
run_agent "$T"
is "  one more mail" "$(count_mails "$T")" "$((n + 1))"
check "  it is the review request again" grep -q 'For CDT review' "$(last_mail_to "$T" review1@cdt.ca.gov)"
check "  an event names the operator" sh -c "'$CGENCTL' -c '$T/cgen.conf' show $C --json | grep -q '\"kind\":\"resent\",\"actor\":\"operator:ana\"'"

# cancel, then reopen where it was
is "cancel: exit 0" "$(rc ctl "$T" cancel $C --by bo --reason "duplicate of CGEN-2026-0002")" 0
is "  withdrawn" "$(case_state "$T" $C)" withdrawn
run_agent "$T"
check "  the requester is told why" grep -q 'duplicate of CGEN-2026-0002' "$(last_mail_to "$T" dana@water.ca.gov)"
is "  cancel again: exit 1" "$(rc ctl "$T" cancel $C --by bo --reason again)" 1
is "reopen: exit 0" "$(rc ctl "$T" reopen $C --by bo --reason "not a duplicate after all")" 0
is "  back in the state it was in" "$(case_state "$T" $C)" cdt_review
run_agent "$T"
f=$(last_mail_to "$T" review2@cdt.ca.gov)
check "  CDT gets the review request again" grep -q 'For CDT review' "$f"
reply "$T" o4 "review2@cdt.ca.gov" "$f" "RECOMMEND APPROVE no CGEN at the site"
run_agent "$T"
is "  and its reply key works" "$(case_state "$T" $C)" cto_decision
is "approve --as cto: granted" "$(rc ctl "$T" approve $C --as cto --by bo --reason "approved at the 12-01 meeting")$(case_state "$T" $C)" 0granted
check "every act is in the chain" "$CGENCTL" -c "$T/cgen.conf" verify

# outbox: drop, and expiry after max_queue_lifetime
sed -i 's|^url = file:outbox$|url = smtp://127.0.0.1:1\nmax_queue_lifetime = 2h|' "$T/cgen.conf"
request_mail "Pat <pat@dmv.ca.gov>" "Field office" op5@dmv.ca.gov DMV | deliver "$T" o5
run_agent "$T"
pend=$(ctl "$T" outbox --json | grep -o '"status":"pending"' | wc -l | tr -d ' ')
check "with no SMTP server, mail waits ($pend)" [ "$pend" -ge 2 ]
id=$(ctl "$T" outbox --json | sed -n 's/^\[{"id":\([0-9]*\),.*/\1/p')
idcase=$(ctl "$T" outbox --json | sed -n 's/^\[{"id":[0-9]*,"case":"\([^"]*\)".*/\1/p')
is "outbox drop without --reason: usage error" "$(rc ctl "$T" outbox drop "$id")" 64
is "outbox drop: exit 0" "$(rc ctl "$T" outbox drop "$id" --by cy --reason "the requester left")" 0
check "  it leaves the outbox" sh -c "! '$CGENCTL' -c '$T/cgen.conf' outbox --json | grep -q '\"id\":$id,'"
check "  an event on its case ($idcase) names the operator" sh -c "'$CGENCTL' -c '$T/cgen.conf' show '$idcase' --json | grep -q '\"kind\":\"outbox_dropped\",\"actor\":\"operator:cy\"'"
is "  dropping it again: exit 1" "$(rc ctl "$T" outbox drop "$id" --by cy --reason again)" 1
run_agent "$T" --now "$(date -u -d "$(clock "$T") + 3 hours" +%Y-%m-%dT%H:%M:%SZ)"
check "after max_queue_lifetime the rest expires" sh -c "! '$CGENCTL' -c '$T/cgen.conf' outbox --json | grep -q '\"status\":\"pending\"'"
check "  as failed mail that needs a person" sh -c "'$CGENCTL' -c '$T/cgen.conf' outbox | grep -q 'expired'"
check "  with an event on the case" sh -c "'$CGENCTL' -c '$T/cgen.conf' show CGEN-2026-0002 --json | grep -q '\"kind\":\"send_expired\"'"
ctl "$T" --now "$(date -u -d "$(clock "$T") + 4 hours" +%Y-%m-%dT%H:%M:%SZ)" digest --print >"$T/digest.txt"
check "  and a line in the CDT digest" grep -q 'expired' "$T/digest.txt"
is "status: exit 1 while failed mail is not dropped" "$(rc ctl "$T" status)" 1
is "outbox retry all: exit 0" "$(rc ctl "$T" outbox retry all)" 0
check "  the expired mail waits again" sh -c "'$CGENCTL' -c '$T/cgen.conf' outbox --json | grep -q '\"status\":\"pending\"'"

# journald: "<N>" priorities when stderr is the journal's stream
out=$("$CGEND" -c "$T/nonexistent.conf" --foreground 2>&1 | cat)
check "without JOURNAL_STREAM: plain lines" sh -c "echo '$out' | grep -q '^cgend: error: '"
"$CGEND" -c "$T/nonexistent.conf" --foreground 2>"$T/journal.txt"
js=$(stat -c '%d:%i' "$T/journal.txt")
JOURNAL_STREAM=$js "$CGEND" -c "$T/nonexistent.conf" --foreground 2>>"$T/journal.txt"
check "with JOURNAL_STREAM naming stderr: <3> for an error" grep -q '^<3>error: ' "$T/journal.txt"
check "every log line of a mail names its Message-ID and case" grep -q 'mail o3 <o3\.[0-9]*@example.test> (case CGEN-2026-0001)' "$T/cgend.log"
check "no sanitizer report" sh -c "! grep -Eq 'AddressSanitizer|runtime error|LeakSanitizer' '$T/cgend.log'"
tap_end
