#!/bin/sh
# A store restored from a backup, over IMAP (issue "Safe by default", data
# safety 13): the mails the agent moved to processed_folder after the backup
# are read again from there (UIDs past the store's mark), de-duplicated by
# Message-ID, so that no case is lost; then nothing more is read twice. Real
# Dovecot and SMTP on 127.0.0.1 (tests/servers.sh). TAP output.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/servers.sh"
if ! servers_available; then echo "1..0 # SKIP dovecot, openssl or aiosmtpd not installed"; exit 0; fi
SQLITE3=${SQLITE3:-$(command -v sqlite3)}
T=$(mktemp -d /tmp/cgri.XXXXXX)
trap 'servers_stop "$T"; rm -rf "$T"' EXIT
servers_setup "$T" || { echo "Bail out! servers did not start"; cat "$T/dv/dovecot.log" "$T/smtp/log"; exit 1; }
states() { ctl "$1" list --json | grep -o '"id":"[^"]*","state":"[^"]*"'; }
files_in() { find "$@" -type f 2>/dev/null | wc -l | tr -d ' '; }
P=$T/dv/mail/u/Maildir/.Processed

request_mail "Dana <dana@water.ca.gov>" one ri1@water.ca.gov DWR | deliver "$T" i1
request_mail "Pat <pat@dmv.ca.gov>" two ri2@dmv.ca.gov DMV | deliver "$T" i2
run_agent "$T"
ctl "$T" backup "$T/nightly.db" >/dev/null
[ -s "$T/nightly.db" ] || "$SQLITE3" "$T/cgen.db" ".backup '$T/nightly.db'"
request_mail "Sam <sam@water.ca.gov>" three ri3@water.ca.gov DWR | deliver "$T" i3
run_agent "$T"
reply "$T" i3a aio@water.ca.gov "$(last_mail_to "$T" aio@water.ca.gov)" APPROVE
request_mail "Lee <lee@dmv.ca.gov>" four ri4@dmv.ca.gov DMV | deliver "$T" i4
run_agent "$T"
before=$(states "$T")
is "before the restore: 4 cases" "$(echo "$before" | grep -c .)" 4
is "  every mail moved to Processed" "$(files_in "$P/cur" "$P/new")" 5
cp "$T/nightly.db" "$T/cgen.db"
rm -f "$T/cgen.db-wal" "$T/cgen.db-shm"
run_agent "$T"
is "after the restore: the same cases in the same states" "$(states "$T")" "$before"
is "  the AIO's approval read again too" "$(ctl "$T" show CGEN-2026-0003 --json | grep -o '"approvals":{"aio":"[a-z]*"')" '"approvals":{"aio":"approved"'
check "  the log says what is read again" grep -q 'holds mails moved there after the store.s last mark' "$T/cgend.log"
is "  they stay in Processed" "$(files_in "$P/cur" "$P/new")" 5
check "  the chain is intact" ctl "$T" verify
n=$(count_mails "$T")
run_agent "$T"
is "the next run reads nothing again" "$(count_mails "$T")" "$n"
is "  and the cases are unchanged" "$(states "$T")" "$before"
check "no sanitizer report in the daemon log" sh -c "! grep -q 'ERROR: AddressSanitizer\|runtime error' '$T/cgend.log'"
tap_end
