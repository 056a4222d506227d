#!/bin/sh
# cgend and cgenctl interfaces: exit codes, config errors as FILE:LINE, the
# directory import rules, the store lock. TAP output.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
T=$(mktemp -d /tmp/cgen-cli.XXXXXX)
trap 'rm -rf "$T"' EXIT
setup_agent "$T"
rc() { "$@" >/dev/null 2>&1; echo $?; }

is "no command: usage, exit 64" "$(rc "$CGENCTL" -c "$T/cgen.conf")" 64
is "unknown command: exit 64" "$(rc ctl "$T" frobnicate)" 64
is "show without a case: exit 64" "$(rc ctl "$T" show)" 64
is "unknown state: exit 64" "$(rc ctl "$T" list --state bogus)" 64
is "unknown case: exit 1" "$(rc ctl "$T" show CGEN-2026-9999)" 1
is "empty list is []" "$(ctl "$T" list --json)" "[]"
is "empty queue is []" "$(ctl "$T" queue --json)" "[]"
is "cgend with a bad option: exit 64" "$(rc "$CGEND" --bogus)" 64
check "cgend without -c reads /etc/cgen/cgen.conf" sh -c "'$CGEND' --check-config 2>&1 | grep -q '/etc/cgen/cgen.conf'"
is "cgend --check-config on a good file" "$(rc "$CGEND" -c "$T/cgen.conf" --check-config)" 0

sed -e 's/^cto = .*/cto = not-an-address/' -e 's/^\[store\]/[store]\nfrobs = 1/' "$T/cgen.conf" >"$T/bad.conf"
is "bad config: exit 78 (cgenctl)" "$(rc "$CGENCTL" -c "$T/bad.conf" list)" 78
is "bad config: exit 78 (cgend)" "$(rc "$CGEND" -c "$T/bad.conf" --check-config)" 78
errs=$("$CGENCTL" -c "$T/bad.conf" list 2>&1)
check "unknown key reported as FILE:LINE" sh -c "echo '$errs' | grep -q '^$T/bad.conf:[0-9][0-9]*: .*frobs'"
check "bad value reported as FILE:LINE" sh -c "echo '$errs' | grep -q '^$T/bad.conf:[0-9][0-9]*: .*cto'"

chmod 644 "$T/secret"
is "a secret file readable by others is refused" "$(rc "$CGEND" -c "$T/cgen.conf" --check-config)" 78
chmod 600 "$T/secret"
sed 's|^from = \(.*\)$|from = \1\npassword_file = pw|' "$T/cgen.conf" >"$T/pw.conf"
echo not-a-real-password >"$T/pw"
chmod 644 "$T/pw"
is "a password file readable by others is refused" "$(rc "$CGEND" -c "$T/pw.conf" --check-config)" 78
chmod 600 "$T/pw"
is "the same file, owner-only, is accepted" "$(rc "$CGEND" -c "$T/pw.conf" --check-config)" 0

printf 'code,name,domains,aio,cio,aio_delegates,cio_delegates,exempt\nX1,Ok Entity,ok.ca.gov,a@ok.ca.gov,c@ok.ca.gov,,,\nX2,,bad,nope,c@x.ca.gov,,,\n' >"$T/bad.csv"
out=$(ctl "$T" directory import "$T/bad.csv" 2>&1); r=$?
is "bad directory import: exit 1" "$r" 1
check "bad rows reported as FILE:LINE" sh -c "echo '$out' | grep -q '^$T/bad.csv:3: '"
request_mail "Dana <dana@water.ca.gov>" "Exemption" c1@water.ca.gov "DWR" | deliver "$T" c1
run_agent "$T"
is "the directory is unchanged after a bad import" "$(case_state "$T" CGEN-2026-0001)" awaiting_approvals
is "a good import: exit 0" "$(rc ctl "$T" directory import "$top_srcdir/etc/entities.csv")" 0

check "list --json has the stable keys" sh -c "'$CGENCTL' -c '$T/cgen.conf' --now $(clock $T) list --json | grep -q '^\[{\"id\":\"CGEN-2026-0001\",\"state\":\"awaiting_approvals\",\"entity\":\"DWR\",\"waiting_on\":\[\"aio\",\"cio\"\],\"age_days\":0,\"overdue\":false}\]\$'"
check "show --json has requester, approvals, fields, problems, events" sh -c "'$CGENCTL' -c '$T/cgen.conf' --now $(clock $T) show CGEN-2026-0001 --json | grep -q '\"requester\":\"dana@water.ca.gov\",\"approvals\":{\"aio\":\"pending\",\"cio\":\"pending\"},\"fields\":{\"entity\":\"DWR\".*\"total_cost\":9756000.*\"problems\":\[\],\"events\":\[{\"at\":\"20'"

# queue reprocess: a request from an entity missing from the directory waits
# in the queue; once the directory has it, the operator handles it again.
request_mail "Kim <kim@parks.ca.gov>" "Parks request" c2@parks.ca.gov "Department of Parks" | deliver "$T" c2
run_agent "$T"
qid=$(ctl "$T" queue --json | sed -n 's/.*"id":\([0-9]*\),"message":[0-9]*,"at":"[^"]*","from":"kim@parks.ca.gov".*/\1/p')
check "the unknown entity's request is queued" [ -n "$qid" ]
{ cat "$top_srcdir/etc/entities.csv"; echo "PARKS,Department of Parks,parks.ca.gov,aio@parks.ca.gov,cio@parks.ca.gov,,,"; } >"$T/more.csv"
ctl "$T" directory import "$T/more.csv" >/dev/null
is "queue reprocess: exit 0" "$(rc ctl "$T" queue reprocess "$qid")" 0
is "  the request opened its case" "$(case_state "$T" CGEN-2026-0002)" awaiting_approvals
check "  and left the queue" sh -c "! '$CGENCTL' -c '$T/cgen.conf' queue --json | grep -q kim@parks.ca.gov"
run_agent "$T"
check "  the approval request goes out on the next pass" grep -q 'Approval needed' "$(last_mail_to "$T" aio@parks.ca.gov)"
is "reprocessing it twice: exit 1" "$(rc ctl "$T" queue reprocess "$qid")" 1
is "queue reprocess of a bad number: exit 64" "$(rc ctl "$T" queue reprocess x1)" 64

if command -v flock >/dev/null 2>&1; then
	flock "$T/cgen.db.lock" sleep 3 &
	sleep 0.5
	out=$("$CGEND" -c "$T/cgen.conf" --once --foreground 2>&1); r=$?
	is "a second cgend on the same store refuses to start" "$r" 1
	check "with a clear message" sh -c "echo '$out' | grep -q 'another cgend is already running'"
	wait
fi
tap_end
