#!/bin/sh
# The event hash chain: cgenctl verify passes on an untouched store and names
# the event after a row is altered or removed with the sqlite3 CLI. TAP output.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
SQLITE3=${SQLITE3:-$(command -v sqlite3)}
if [ -z "$SQLITE3" ]; then echo "1..0 # SKIP sqlite3 command-line tool not installed"; exit 0; fi
T=$(mktemp -d /tmp/cgen-verify.XXXXXX)
trap 'rm -rf "$T"' EXIT
setup_agent "$T"
request_mail "Dana Lee <dana.lee@water.ca.gov>" "Exemption" v1@water.ca.gov "DWR" | deliver "$T" m1
run_agent "$T"
reply "$T" m2 "aio@water.ca.gov" "$(last_mail_to "$T" aio@water.ca.gov)" "APPROVE"
run_agent "$T"
out=$("$CGENCTL" -c "$T/cgen.conf" verify); rc=$?
is "verify passes on an untouched store" "$rc" 0
check "and reports the chain head" sh -c "echo '$out' | grep -Eq 'intact: [0-9]+ events, head [0-9a-f]{64}'"

cp "$T/cgen.db" "$T/orig.db"
seq=$("$SQLITE3" "$T/cgen.db" "SELECT seq FROM events WHERE kind = 'approved' LIMIT 1;")
"$SQLITE3" "$T/cgen.db" "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events';" |
	while read -r trig; do "$SQLITE3" "$T/cgen.db" "DROP TRIGGER \"$trig\";"; done
"$SQLITE3" "$T/cgen.db" "UPDATE events SET detail = 'CIO approval' WHERE seq = $seq;"
out=$("$CGENCTL" -c "$T/cgen.conf" verify); rc=$?
is "verify fails after an event row is altered" "$rc" 1
check "naming the altered event ($seq)" sh -c "echo '$out' | grep -q 'event $seq '"

cp "$T/orig.db" "$T/cgen.db"
rm -f "$T/cgen.db-wal" "$T/cgen.db-shm"
"$SQLITE3" "$T/cgen.db" "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events';" |
	while read -r trig; do "$SQLITE3" "$T/cgen.db" "DROP TRIGGER \"$trig\";"; done
"$SQLITE3" "$T/cgen.db" "DELETE FROM events WHERE seq = 3;"
out=$("$CGENCTL" -c "$T/cgen.conf" verify); rc=$?
is "verify fails after an event row is deleted" "$rc" 1
check "naming where the chain breaks" sh -c "echo '$out' | grep -q 'event [34]'"
tap_end
