#!/bin/sh
# Mails the agent cannot handle: one that crashes the parser (a stand-in that
# aborts, switched on by CGEN_TEST_PARSER_ABORT), bytes that are not a mail,
# and a mail over max_message_size. Each is quarantined with a clear reason
# and listed in the operator queue; the mails after them are handled; nothing
# is retried for ever. TAP output.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
T=$(mktemp -d /tmp/cgen-quar.XXXXXX)
trap 'rm -rf "$T"' EXIT
setup_agent "$T"
sed -i 's/^url = maildir:Maildir$/url = maildir:Maildir\nmax_message_size = 20000/' "$T/cgen.conf"
CGEN_TEST_PARSER_ABORT=CGEN-POISON-7f3a
export CGEN_TEST_PARSER_ABORT

request_mail "Dana <dana@water.ca.gov>" "first" q1@water.ca.gov "DWR" | deliver "$T" 1-good
{ echo "From: x@water.ca.gov"; echo "Subject: poison"; echo; echo "CGEN-POISON-7f3a"; } | deliver "$T" 2-poison
head -c 3000 /dev/urandom | tr -d '\n:' | deliver "$T" 3-garbage
{ request_mail "Pat <pat@dmv.ca.gov>" "big" q4@dmv.ca.gov "DMV"; head -c 30000 /dev/zero | tr '\0' 'x' | fold -w 76; } | deliver "$T" 4-big
request_mail "Sam <sam@chp.ca.gov>" "after" q5@chp.ca.gov "CHP" | deliver "$T" 5-good
run_agent "$T"; rc=$?
is "cgend --once exits 0" "$rc" 0
is "the mails around them opened cases" "$(ctl "$T" list --json | grep -o '"id"' | wc -l | tr -d ' ')" 2
is "three mails quarantined" "$(ls "$T/Maildir/.Quarantine/cur" | wc -l | tr -d ' ')" 3
check "the poisonous mail is in quarantine" sh -c "ls '$T/Maildir/.Quarantine/cur' | grep -q '^2-poison'"
check "so are the garbage and the oversize mail" sh -c "ls '$T/Maildir/.Quarantine/cur' | grep -q '^3-garbage' && ls '$T/Maildir/.Quarantine/cur' | grep -q '^4-big'"
q=$(ctl "$T" queue)
check "queue: the parser crash is named" sh -c "echo '$q' | grep -q 'parser crashed'"
check "queue: not a mail" sh -c "echo '$q' | grep -q 'not a mail'"
check "queue: too large, with its size" sh -c "echo '$q' | grep -q 'over the limit of 20000 bytes'"
check "the sender of the oversize mail is told" grep -q 'too large' "$(last_mail_to "$T" pat@dmv.ca.gov)"
check "a log line says why" grep -q 'quarantined: the parser crashed' "$T/cgend.log"
n=$(count_mails "$T")
run_agent "$T"
is "second run: nothing retried, nothing sent" "$(count_mails "$T")" "$n"
check "chain intact" ctl "$T" verify
tap_end
