#!/bin/sh
# bench/digest.sh [N [DIR]]: a store of N (default 1000) open cases, then the
# CDT digest built over it, timed: "cgenctl digest --print" (load the store,
# verify the chain, build text and HTML) and "cgenctl digest" (the same, plus
# composing and queueing the mails). One case goes through cgend; the others
# are copies of it made with the sqlite3 CLI, in every open state, a seventh
# of them overdue, the
# others from 0 to 10 days in their state. With DIR the agent folder is kept there. Uses the build in
# top_builddir (default: _build); not part of make check.
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
. "$top_srcdir/tests/lib.sh"
N=${1:-1000}
SQLITE3=${SQLITE3:-$(command -v sqlite3)}
if [ -n "${2:-}" ]; then
	T=$2
	mkdir -p "$T"
else
	T=$(mktemp -d /tmp/cgen-bench-digest.XXXXXX)
	trap 'rm -rf "$T"' EXIT
fi
export TZ=America/Los_Angeles
setup_agent "$T"
request_mail "Dana Lee <dana.lee@water.ca.gov>" "CGEN exemption: Delta field office" \
	bench-1@water.ca.gov "DWR" | deliver "$T" m1
"$CGEND" -c "$T/cgen.conf" --once --now 2026-09-01T09:00:00-07:00 2>/dev/null
now=2026-11-20T07:00:00-08:00
nowt=$(date -d $now +%s)
"$SQLITE3" "$T/cgen.db" <<SQL
WITH RECURSIVE n(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM n WHERE i < $N)
INSERT INTO cases (id, year, num, state, entity, requester, aio, cio, step, subject,
	request_msgid, fields_json, problems_json, summary, recommendation, decision,
	reminders, overdue, created, updated, state_since)
SELECT printf('CGEN-2026-%04d', i), 2026, i,
	CASE i % 5 WHEN 0 THEN 'awaiting_approvals' WHEN 1 THEN 'cdt_review'
		WHEN 2 THEN 'awaiting_info' WHEN 3 THEN 'cto_decision' ELSE 'incomplete' END,
	CASE i % 3 WHEN 0 THEN 'DWR' WHEN 1 THEN 'DMV' ELSE 'CHP' END,
	requester, aio, cio, step, subject || ' #' || i, request_msgid, fields_json,
	problems_json, summary, NULL, NULL, CASE WHEN i % 7 = 0 THEN 2 ELSE 0 END,
	CASE WHEN i % 7 = 0 THEN 1 ELSE 0 END,
	$nowt - (i % 11) * 86400 - 4 * 86400 - i * 600, $nowt - (i % 11) * 86400 - i * 600,
	$nowt - CASE WHEN i % 7 = 0 THEN 20 ELSE i % 11 END * 86400 - i * 600
FROM cases, n WHERE id = 'CGEN-2026-0001';
SQL
ms() { date +%s%N | cut -c1-13; }
t0=$(ms)
"$CGENCTL" -c "$T/cgen.conf" --now $now digest --print >"$T/digest.txt"
t1=$(ms)
"$CGENCTL" -c "$T/cgen.conf" --now $now digest >/dev/null
t2=$(ms)
open=$(sed -n 's/^Open cases: \([0-9]*\) .*/\1/p' "$T/digest.txt")
sizes=$("$SQLITE3" "$T/cgen.db" "SELECT group_concat(n, ', ') FROM (SELECT length(data) AS n FROM outbox WHERE id > (SELECT max(id) FROM outbox) - $(sed -n 's/^cdt = //p' "$T/cgen.conf" | tr ',' '\n' | grep -c .) ORDER BY id);")
echo "digest over $open open cases: built (cgenctl digest --print) in $((t1 - t0)) ms;" \
	"built and queued (cgenctl digest) in $((t2 - t1)) ms; mails of $sizes bytes"
