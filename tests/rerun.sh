#!/bin/sh
# Exactly once: a second `cgend --once` on the same mailbox changes nothing and
# sends nothing, and a mail seen again (same Message-ID, e.g. after a crash
# between the commit and the seen flag) is skipped. TAP output.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
T=$(mktemp -d /tmp/cgen-rerun.XXXXXX)
trap 'rm -rf "$T"' EXIT
setup_agent "$T"
snapshot() {
	(cd "$T/outbox/new" && sha256sum * 2>/dev/null)
	ctl "$T" list --json
	"$CGENCTL" -c "$T/cgen.conf" verify
}
request_mail "Dana Lee <dana.lee@water.ca.gov>" "Exemption" rr1@water.ca.gov "DWR" | deliver "$T" m1
request_mail "Pat <pat@dmv.ca.gov>" "Exemption" rr2@dmv.ca.gov "DMV" | deliver "$T" m2
run_agent "$T"
reply "$T" m3 "aio@water.ca.gov" "$(last_mail_to "$T" aio@water.ca.gov)" "APPROVE"
run_agent "$T"
first=$(snapshot)
is "two requests and one approval give 7 mails" "$(count_mails "$T")" 7
run_agent "$T"
is "second run: outbox, cases and chain unchanged" "$(snapshot)" "$first"

# The same mails delivered again (a crash before they were flagged seen).
for f in "$T"/Maildir/cur/*; do
	b=$(basename "$f" | sed 's/:2,.*//')
	cp "$f" "$T/Maildir/new/again-$b"
done
run_agent "$T"
is "mails seen again: nothing sent twice, nothing changed" "$(snapshot)" "$first"
check "they are flagged seen" sh -c "[ -z \"\$(ls '$T/Maildir/new')\" ]"
is "one approval recorded, not two" "$(ctl "$T" show CGEN-2026-0001 --json | grep -o '"kind":"approved"' | wc -l | tr -d ' ')" 1
tap_end
