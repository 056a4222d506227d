#!/bin/sh
# Data safety (an operator's review, issue "Safe by default" 11-14): a missing
# store is never created empty; read-only commands never write or migrate; a
# migration backs the store up first; a store deleted under the daemon stops
# it; a restored backup reads again what the Maildir handled since, and never
# gives a case number twice; transient failures exit 75. TAP output.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
T=$(mktemp -d /tmp/cgen-data.XXXXXX)
trap 'kill "$daemon" 2>/dev/null; rm -rf "$T"' EXIT
daemon=
SQLITE3=${SQLITE3:-$(command -v sqlite3)}
wait_for() {
	_n=$(($1 * 10)); shift
	while [ $_n -gt 0 ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; _n=$((_n - 1)); done
	return 1
}
rc() { "$@" >/dev/null 2>&1; echo $?; }
ncases() { ctl "$1" list --json | grep -o '"id"' | wc -l | tr -d ' '; }
# The ids and states of every case, one a line.
states() { ctl "$1" list --json | grep -o '"id":"[^"]*","state":"[^"]*"'; }

# --- 11. A mistyped path creates nothing ---
A=$T/missing
mkdir -p "$A"
setup_agent "$A"
sed -i 's/^path = cgen.db$/path = cgne.db/' "$A/cgen.conf"
for cmd in "list" "show CGEN-2026-0001" "queue" "verify" "digest --print" "digest" \
	"directory import $top_srcdir/etc/entities.csv" "queue reprocess 1" "export --granted $A/exp" \
	"backup $A/b.db" "migrate"; do
	r=$(rc ctl "$A" $cmd)
	is "cgenctl $cmd on a mistyped store path: exit 1" "$r" 1
done
ctl "$A" list 2>"$A/err" >/dev/null
check "  saying there is no store and how to create one" grep -q 'no store here.*cgenctl init' "$A/err"
is "cgend --once: exit 78" "$(rc "$CGEND" -c "$A/cgen.conf" --once --foreground)" 78
is "cgend --check-config: exit 78" "$(rc "$CGEND" -c "$A/cgen.conf" --check-config)" 78
is "nothing was created" "$(ls "$A" | grep -c '^cgne')" 0
sed -i 's/^path = cgne.db$/path = cgne.db\ncreate = yes/' "$A/cgen.conf"
is "[store] create = yes: cgend creates it" "$(rc "$CGEND" -c "$A/cgen.conf" --once --foreground)" 0
is "  mode 0600" "$(stat -c %a "$A/cgne.db")" 600
B=$T/init
mkdir -p "$B"
setup_agent "$B"
rm -f "$B/cgen.db"
ctl "$B" init >"$B/out"
is "cgenctl init creates the store" "$?/$(stat -c %a "$B/cgen.db")" "0/600"
ctl "$B" init >"$B/out2"
check "  a second init leaves it as it is" grep -q 'already exists' "$B/out2"

# A store deleted under a running daemon is noticed, and never re-created.
request_mail "Dana <dana@water.ca.gov>" one d1@water.ca.gov DWR | deliver "$B" d1
ctl "$B" directory import "$top_srcdir/etc/entities.csv" >/dev/null
sed -i 's/^url = maildir:Maildir$/url = maildir:Maildir\npoll_interval = 1/' "$B/cgen.conf"
"$CGEND" -c "$B/cgen.conf" --foreground --now 2026-11-26T17:00:00Z 2>>"$B/cgend.log" &
daemon=$!
wait_for 30 test -s "$B/outbox/new/3.eml"
rm -f "$B/cgen.db"
# running: the process exists and is not a zombie waiting to be reaped
running() { [ -e "/proc/$1" ] && ! grep -q ') Z' "/proc/$1/stat" 2>/dev/null; }
wait_for 20 sh -c "[ ! -e /proc/$daemon ] || grep -q ') Z' /proc/$daemon/stat"
if running $daemon; then
	not_ok "the daemon stops within seconds of the store's deletion"
	kill -TERM $daemon
else
	ok "the daemon stops within seconds of the store's deletion"
fi
wait $daemon
is "  exit 1" "$?" 1
daemon=
check "  the log says why" grep -q 'the store was deleted or moved while the daemon ran' "$B/cgend.log"
check "  no empty store was made in its place" test ! -e "$B/cgen.db"

# --- 12. Read-only commands never write; migration only with a backup ---
C=$T/ro
mkdir -p "$C"
setup_agent "$C"
request_mail "Dana <dana@water.ca.gov>" one ro1@water.ca.gov DWR | deliver "$C" ro1
run_agent "$C"
sum() { cat "$C/cgen.db" "$C/cgen.db-wal" 2>/dev/null | sha256sum; }
s0=$(sum)
for cmd in "list" "list --json" "show CGEN-2026-0001" "queue" "verify" "digest --print" \
	"export --granted $C/exp" "parse $C/Maildir/cur/ro1:2,S"; do
	ctl "$C" $cmd >/dev/null 2>&1
	is "cgenctl $cmd leaves the store's bytes as they were" "$(sum)" "$s0"
done
"$CGEND" -c "$C/cgen.conf" --check-config >/dev/null 2>&1
is "cgend --check-config too" "$(sum)" "$s0"
if [ -n "$SQLITE3" ]; then
	# The store as schema version 4 left it (its tables, a reply key in clear).
	store_to_v4 "$C/cgen.db"
	"$SQLITE3" "$C/cgen.db" "INSERT INTO reply_keys VALUES ('abcdefghijklmnopqrstuvwxyz', 'CGEN-2026-0001', 9, 'aio', 'aio@water.ca.gov');"
	s4=$(sum)
	for cmd in "list" "show CGEN-2026-0001" "queue" "verify" "digest --print"; do
		r=$(rc ctl "$C" $cmd)
		is "on a version 4 store, $cmd refuses (1) and writes nothing" "$r/$(sum)" "1/$s4"
	done
	ctl "$C" list 2>"$C/err" >/dev/null
	check "  and says to run cgenctl migrate" grep -q 'older than this program.*cgenctl migrate' "$C/err"
	is "  no backup was made" "$(ls "$C" | grep -c 'v4.bak')" 0
	ctl "$C" migrate >"$C/mig.out" 2>"$C/mig.err"
	is "cgenctl migrate: exit 0" "$?" 0
	check "  a log line names the backup" grep -q "schema version 4 -> [0-9]*; backup of version 4 in $C/cgen.db.v4.bak" "$C/mig.err"
	is "  the backup is version 4, private" "$("$SQLITE3" "$C/cgen.db.v4.bak" 'PRAGMA user_version')/$(stat -c %a "$C/cgen.db.v4.bak")" "4/600"
	is "  and holds the same cases" "$("$SQLITE3" "$C/cgen.db.v4.bak" 'SELECT count(*) FROM cases')" 1
	check "  the store is current" ctl "$C" list
	is "  the key kept in clear is now hashed" "$("$SQLITE3" "$C/cgen.db" "SELECT count(*) FROM reply_keys WHERE key LIKE 'abcdefghij%'")" 0
	# cgend's start migrates the same way.
	D=$T/start
	mkdir -p "$D"
	setup_agent "$D"
	store_to_v4 "$D/cgen.db"
	run_agent "$D"
	is "cgend start migrates a version 4 store: exit 0" "$?" 0
	check "  after a backup it logs" grep -q "backup of version 4 in $D/cgen.db.v4.bak" "$D/cgend.log"
else
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14; do ok "# SKIP sqlite3 command-line tool not installed"; done
fi

# --- 13. A restored backup: the Maildir's mails since are read again ---
E=$T/restore
mkdir -p "$E"
setup_agent "$E"
request_mail "Dana <dana@water.ca.gov>" one e1@water.ca.gov DWR | deliver "$E" e1
request_mail "Pat <pat@dmv.ca.gov>" two e2@dmv.ca.gov DMV | deliver "$E" e2
run_agent "$E"
ctl "$E" backup "$E/nightly.db" >"$E/backup.out"
is "cgenctl backup: exit 0" "$?" 0
# (without the command, as older versions had none: SQLite's own backup)
[ -s "$E/nightly.db" ] || "$SQLITE3" "$E/cgen.db" ".backup '$E/nightly.db'"
check "  it says the copy was checked" grep -q "written to $E/nightly.db and checked: schema [0-9]*, 2 cases" "$E/backup.out"
is "  a second backup to the same file is refused" "$(rc ctl "$E" backup "$E/nightly.db")" 1
# After the backup: a request granted and exported, another one opened.
request_mail "Sam <sam@water.ca.gov>" three e3@water.ca.gov DWR | deliver "$E" e3
run_agent "$E"
grant_case "$E" e3 water.ca.gov
ctl "$E" export --granted "$E/central" >/dev/null
request_mail "Lee <lee@water.ca.gov>" four e4@water.ca.gov DWR | deliver "$E" e4
run_agent "$E"
before=$(states "$E")
is "before the restore: 4 cases, the third granted" "$(echo "$before" | grep -c .)/$(case_state "$E" CGEN-2026-0003)" "4/granted"
sums=$(cd "$E/outbox/new" && sha256sum * | sort)
# The restore, as the README says: stop cgend, copy the backup over the store.
cp "$E/nightly.db" "$E/cgen.db"
rm -f "$E/cgen.db-wal" "$E/cgen.db-shm"
run_agent "$E"
is "after the restore: every case is back, same numbers, same states" "$(states "$E")" "$before"
check "  the log says the mails are read again" grep -q 'were handled after the store.s last mark but are not in it' "$E/cgend.log"
check "  the chain is intact" ctl "$E" verify
is "  no mail of the outbox was overwritten" "$(cd "$E/outbox/new" && sha256sum $(echo "$sums" | awk '{print $2}') | sort)" "$sums"
ctl "$E" export --granted "$E/central" >/dev/null
check "  the central file still matches" ctl "$E" verify "$E/central"
# With the central file known ([store] central_file), the same again: the
# granted case read again keeps its number (the central file holds the very
# same request).
sed -i 's/^path = cgen.db$/path = cgen.db\ncentral_file = central/' "$E/cgen.conf"
cp "$E/nightly.db" "$E/cgen.db"
rm -f "$E/cgen.db-wal" "$E/cgen.db-shm"
run_agent "$E"
is "a second restore, with central_file: the same numbers and states" "$(states "$E")" "$before"
# A mailbox that lost those mails: a new request never takes the number the
# central file gave to another one.
cp "$E/nightly.db" "$E/cgen.db"
rm -f "$E/cgen.db-wal" "$E/cgen.db-shm"
mkdir -p "$E/lost"
for m in e3 e3-1-aio e3-2-cio e3-3-cdt e3-4-cto e4; do mv "$E/Maildir/cur/$m:2,S" "$E/lost/"; done
request_mail "Kim <kim@water.ca.gov>" five e5@water.ca.gov DWR | deliver "$E" e5
run_agent "$E"
check "a new request after a restore without replay: not the central file's CGEN-2026-0003" \
	sh -c "! '$CGENCTL' -c '$E/cgen.conf' list --json | grep -q '\"CGEN-2026-0003\",\"state\":\"awaiting_approvals\"'"
is "  it takes the next free number" "$(ncases "$E")/$(case_state "$E" CGEN-2026-0004)" "3/awaiting_approvals"

# --- 14. Transient failures are not configuration errors ---
F=$T/imap
mkdir -p "$F"
setup_agent "$F"
printf 'secret\n' >"$F/imap-password"
chmod 600 "$F/imap-password"
# Port 1 of 127.0.0.1: nothing listens there.
sed -i 's|^url = maildir:Maildir$|url = imap://u@127.0.0.1:1/INBOX\npassword_file = imap-password|' "$F/cgen.conf"
is "IMAP server unreachable at start: exit 75 (EX_TEMPFAIL)" "$(rc "$CGEND" -c "$F/cgen.conf" --once --foreground)" 75
is "  --check-config does not touch the mailbox: exit 0" "$(rc "$CGEND" -c "$F/cgen.conf" --check-config)" 0
sed -i 's|^password_file = imap-password$|password_file = no-such-file|' "$F/cgen.conf"
is "  a missing password file is a configuration error: 78" "$(rc "$CGEND" -c "$F/cgen.conf" --once --foreground)" 78
check "no sanitizer report in any daemon log" sh -c "! grep -h 'ERROR: AddressSanitizer\|runtime error' '$T'/*/cgend.log"
tap_end
