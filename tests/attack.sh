#!/bin/sh
# Only the right person can move a case (DESIGN.md section 4): one test point
# per attack, each refused and recorded; then the correlation cases real mail
# systems produce, each accepted. TAP output.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
T=$(mktemp -d /tmp/cgen-attack.XXXXXX)
trap 'rm -rf "$T"' EXIT
setup_agent "$T"
approvals() { ctl "$T" show "$1" --json | sed -n 's/.*"approvals":{"aio":"\([a-z]*\)","cio":"\([a-z]*\)"}.*/\1 \2/p'; }
refused_by() { ctl "$T" show "$1" --json | grep -q "\"kind\":\"refused\",\"actor\":\"$2\""; }
queued() { ctl "$T" queue --json | grep -q "$1"; }

request_mail "Dana <dana@water.ca.gov>" "one" at1@water.ca.gov DWR | deliver "$T" r1
request_mail "Dana <dana@water.ca.gov>" "two" at2@water.ca.gov DWR | deliver "$T" r2
run_agent "$T"
A=CGEN-2026-0001 B=CGEN-2026-0002
aioA=$(mails_to "$T" aio@water.ca.gov | head -n 1)
aioB=$(mails_to "$T" aio@water.ca.gov | tail -n 1)
cioA=$(mails_to "$T" cio@water.ca.gov | head -n 1)

# 1. forged From without a key
{ echo "From: aio@water.ca.gov"; echo "To: cgen@cdt.ca.gov"; echo "Subject: Re: [$A] Approval needed"
  echo "Message-ID: <x1@evil.example>"; echo; echo "APPROVE"; } | deliver "$T" x1
run_agent "$T"
is "forged From without key: no approval" "$(approvals $A)" "pending pending"
check "  recorded on the case" refused_by $A aio@water.ca.gov
# 2. a valid key with another From
reply "$T" x2 "Eve <eve@evil.example>" "$aioA" "APPROVE"
run_agent "$T"
is "valid key, another From: no approval" "$(approvals $A)" "pending pending"
check "  recorded on the case" refused_by $A eve@evil.example
check "  and queued" queued eve@evil.example
# 3. a key of another case (case A's key on a mail about case B)
REPLY_SUBJECT_PREFIX="[$B] " reply "$T" x3 "aio@water.ca.gov" "$aioA" "APPROVE"
run_agent "$T"
is "key of another case: case B unchanged" "$(approvals $B)" "pending pending"
is "  and case A unchanged" "$(approvals $A)" "pending pending"
check "  recorded on case B" refused_by $B aio@water.ca.gov
# 4. a key of another role (the CIO answers the AIO's request)
reply "$T" x4 "cio@water.ca.gov" "$aioA" "APPROVE"
run_agent "$T"
is "key of another role: no approval" "$(approvals $A)" "pending pending"
check "  recorded and queued" sh -c "'$CGENCTL' -c '$T/cgen.conf' --now $(clock $T) queue --json | grep -q 'cio@water.ca.gov'"
# 5. a key replayed after its step
reply "$T" x5a "aio@water.ca.gov" "$aioA" "APPROVE"
reply "$T" x5b "cio@water.ca.gov" "$cioA" "APPROVE"
run_agent "$T"
is "  (case A reached cdt_review)" "$(case_state "$T" $A)" cdt_review
reply "$T" x5c "cio@water.ca.gov" "$cioA" "REJECT replayed"
run_agent "$T"
is "key replayed after its step: no change" "$(case_state "$T" $A)" cdt_review
check "  recorded" refused_by $A cio@water.ca.gov
# 6. a key quoted inside a third party's forward
{ echo "From: Mallory <mallory@water.ca.gov>"; echo "To: cgen@cdt.ca.gov"; echo "Subject: Fwd: [$B] Approval needed"
  echo "Message-ID: <x6@water.ca.gov>"; echo; echo "APPROVE"; echo; echo "---------- Forwarded message ---------"
  body_of "$aioB"; } | deliver "$T" x6
run_agent "$T"
is "key quoted in a third party's forward: no approval" "$(approvals $B)" "pending pending"
check "  recorded" refused_by $B mallory@water.ca.gov
# 7. display-name trick
reply "$T" x7 "\"aio@water.ca.gov\" <eve@evil.example>" "$aioB" "APPROVE"
run_agent "$T"
is "display-name trick: no approval" "$(approvals $B)" "pending pending"
check "  recorded under the real address" refused_by $B eve@evil.example
# 8. mail from the agent's own address
n=$(count_mails "$T")
reply "$T" x8 "CGEN Exemptions <cgen@cdt.ca.gov>" "$aioB" "APPROVE"
run_agent "$T"
is "mail from the agent's own address: no approval" "$(approvals $B)" "pending pending"
is "  and never answered" "$(count_mails "$T")" "$n"
# 9. forged CDT AUDIT with the attacker's Reply-To
n_eve=$(mails_to "$T" eve@evil.example | wc -l)
{ echo "From: review1@cdt.ca.gov"; echo "Reply-To: eve@evil.example"; echo "To: cgen@cdt.ca.gov"
  echo "Subject: audit"; echo "Message-ID: <x9@evil.example>"; echo; echo "AUDIT DWR"; } | deliver "$T" x9
run_agent "$T"
is "forged AUDIT with the attacker's Reply-To: nothing to the attacker" "$(mails_to "$T" eve@evil.example | wc -l)" "$n_eve"
check "  the answer goes to From only" grep -q 'Audit: granted CGEN exemptions' "$(last_mail_to "$T" review1@cdt.ca.gov)"
{ echo "From: eve@evil.example"; echo "To: cgen@cdt.ca.gov"; echo "Subject: audit"
  echo "Message-ID: <x9b@evil.example>"; echo; echo "AUDIT DWR"; } | deliver "$T" x9b
run_agent "$T"
check "AUDIT from outside CDT: refused" grep -q 'Not done' "$(last_mail_to "$T" eve@evil.example)"
check "  and queued" queued "AUDIT from eve@evil.example"

# 10-11. Authentication-Results required: a second agent
U=$(mktemp -d /tmp/cgen-attack2.XXXXXX)
trap 'rm -rf "$T" "$U"' EXIT
setup_agent "$U"
printf '\nrequire_auth_results = yes\nauthserv_id = mx.cdt.ca.gov\n' >>"$U/cgen.conf"
{ echo "Authentication-Results: mx.cdt.ca.gov; dmarc=pass header.from=water.ca.gov"
  request_mail "Dana <dana@water.ca.gov>" "auth" au1@water.ca.gov DWR; } | deliver "$U" u1
run_agent "$U"
is "authenticated request accepted" "$(case_state "$U" CGEN-2026-0001)" awaiting_approvals
aioU=$(last_mail_to "$U" aio@water.ca.gov)
REPLY_HEADERS="Authentication-Results: mx.cdt.ca.gov; dmarc=fail header.from=water.ca.gov
Authentication-Results: mx.cdt.ca.gov; dmarc=pass header.from=water.ca.gov" \
	reply "$U" u2 "aio@water.ca.gov" "$aioU" "APPROVE"
run_agent "$U"
is "forged Authentication-Results below ours: no approval" \
	"$(ctl "$U" show CGEN-2026-0001 --json | sed -n 's/.*"approvals":{"aio":"\([a-z]*\)".*/\1/p')" pending
check "  queued as not authenticated" sh -c "'$CGENCTL' -c '$U/cgen.conf' --now $(clock $U) queue | grep -q 'not authenticated'"
reply "$U" u3 "aio@water.ca.gov" "$aioU" "APPROVE"
run_agent "$U"
is "missing Authentication-Results: no approval" \
	"$(ctl "$U" show CGEN-2026-0001 --json | sed -n 's/.*"approvals":{"aio":"\([a-z]*\)".*/\1/p')" pending
REPLY_HEADERS="Authentication-Results: mx.cdt.ca.gov; dkim=pass header.d=water.ca.gov; dmarc=none" \
	reply "$U" u4 "aio@water.ca.gov" "$aioU" "APPROVE"
run_agent "$U"
is "our server's aligned DKIM pass: approval counts" \
	"$(ctl "$U" show CGEN-2026-0001 --json | sed -n 's/.*"approvals":{"aio":"\([a-z]*\)".*/\1/p')" approved

# Correlation that survives real clients (each must be accepted)
request_mail "Dana <dana@water.ca.gov>" "three" at3@water.ca.gov DWR | deliver "$T" r3
run_agent "$T"
C=CGEN-2026-0003
REPLY_STYLE=outlook REPLY_NO_REFS=1 reply "$T" c1 "aio@water.ca.gov" "$(last_mail_to "$T" aio@water.ca.gov)" "APPROVE"
run_agent "$T"
is "Outlook reply without References (key in the sub-address)" "$(approvals $C)" "approved pending"
REPLY_STYLE=outlook REPLY_NO_REFS=1 REPLY_PLAIN_TO=1 reply "$T" c2 "cio@water.ca.gov" "$(last_mail_to "$T" cio@water.ca.gov)" "APPROVE"
run_agent "$T"
is "no References and no sub-address (key in the quoted Ref: line)" "$(approvals $C)" "approved approved"
request_mail "Dana <dana@water.ca.gov>" "four" at4@water.ca.gov DWR | deliver "$T" r4
run_agent "$T"
D=CGEN-2026-0004
REPLY_PLAIN_TO=1 reply "$T" c3 "aio@water.ca.gov" "$(last_mail_to "$T" aio@water.ca.gov)" "APPROVE"
run_agent "$T"
is "+ sub-address stripped by the server (key in In-Reply-To)" "$(approvals $D)" "approved pending"
# a new secret signs; the old one still verifies
{ head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; echo; cat "$T/secret"; } >"$T/secret.new"
mv "$T/secret.new" "$T/secret"; chmod 600 "$T/secret"
REPLY_SUBJECT_PREFIX="[EXTERNAL] " reply "$T" c4 "cio@water.ca.gov" "$(last_mail_to "$T" cio@water.ca.gov)" "APPROVE"
run_agent "$T"
is "after the secret was rotated, subject rewritten by a gateway" "$(approvals $D)" "approved approved"

# reply_to = plain: no sub-address in Reply-To, replies still correlate
V=$(mktemp -d /tmp/cgen-attack3.XXXXXX)
trap 'rm -rf "$T" "$U" "$V"' EXIT
setup_agent "$V"
sed -i 's/^cto = cto@cdt.ca.gov$/cto = cto@cdt.ca.gov\nreply_to = plain/' "$V/cgen.conf"
request_mail "Dana <dana@water.ca.gov>" "plain" pl1@water.ca.gov DWR | deliver "$V" p1
run_agent "$V"
aioV=$(last_mail_to "$V" aio@water.ca.gov)
check "reply_to = plain: no keyed Reply-To" sh -c "! grep -q '^Reply-To: cgen+' '$aioV'"
reply "$V" p2 "aio@water.ca.gov" "$aioV" "APPROVE"
run_agent "$V"
is "reply_to = plain: the reply still counts" \
	"$(ctl "$V" show CGEN-2026-0001 --json | sed -n 's/.*"approvals":{"aio":"\([a-z]*\)".*/\1/p')" approved

# No secret in any log or cgenctl output
for d in "$T" "$U" "$V"; do
	for s in $(cat "$d/secret"); do
		check "secret absent from the daemon log and cgenctl output ($(basename "$d"))" \
			sh -c "! grep -q '$s' '$d/cgend.log' && ! '$CGENCTL' -c '$d/cgen.conf' show CGEN-2026-0001 | grep -q '$s'"
	done
done
check "no reply key in the daemon log" sh -c "! grep -Eq '[a-z2-7]{26}' '$T/cgend.log'"
tap_end
