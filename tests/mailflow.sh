#!/bin/sh
# The workflow over real mail servers: IMAPS (Dovecot, certificate checked
# against a test CA) in, SMTP with STARTTLS (aiosmtpd) out, on 127.0.0.1;
# plus Dovecot restarted mid-run, SMTP 451 then success, SMTP 550, and a
# mail over the size limit. TAP output.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/servers.sh"
if ! servers_available; then echo "1..0 # SKIP dovecot, openssl or aiosmtpd not installed"; exit 0; fi
T=$(mktemp -d /tmp/cgmf.XXXXXX)
trap 'servers_stop "$T"; rm -rf "$T"' EXIT
servers_setup "$T" || { echo "Bail out! servers did not start"; cat "$T/dv/dovecot.log" "$T/smtp/log"; exit 1; }
sed -i 's|^url = imaps://\(.*\)$|url = imaps://\1\nmax_message_size = 40000|' "$T/cgen.conf"

request_mail "Dana Lee <dana.lee@water.ca.gov>" "Delta office" mf1@water.ca.gov DWR | deliver "$T" a1
run_agent "$T"; rc=$?
is "cgend --once over IMAPS and SMTP exits 0" "$rc" 0
is "request -> awaiting_approvals" "$(case_state "$T" CGEN-2026-0001)" awaiting_approvals
is "three mails accepted by the SMTP server" "$(count_mails "$T")" 3
files_in() { find "$@" -type f 2>/dev/null | wc -l | tr -d ' '; }
is "the request moved to Processed" "$(files_in "$T/dv/mail/u/Maildir/.Processed/cur" "$T/dv/mail/u/Maildir/.Processed/new")" 1
is "INBOX is empty" "$(files_in "$T/dv/mail/u/Maildir/new" "$T/dv/mail/u/Maildir/cur")" 0
check "one SMTP connection for the three" sh -c "[ \$(wc -l <'$T/smtp/connections') -eq 1 ]"

reply "$T" a2 "aio@water.ca.gov" "$(last_mail_to "$T" aio@water.ca.gov)" "APPROVE"
REPLY_STYLE=outlook reply "$T" a3 "cio@water.ca.gov" "$(last_mail_to "$T" cio@water.ca.gov)" "Approved"
run_agent "$T"
is "both approvals -> cdt_review" "$(case_state "$T" CGEN-2026-0001)" cdt_review

# Dovecot restarted between two runs, and mid-run for a daemon
dovecot_stop "$T/dv"; dovecot_start "$T/dv"
reply "$T" a4 "review1@cdt.ca.gov" "$(last_mail_to "$T" review1@cdt.ca.gov)" "RECOMMEND APPROVE no CGEN at the site"
run_agent "$T"
is "after a Dovecot restart: RECOMMEND -> cto_decision" "$(case_state "$T" CGEN-2026-0001)" cto_decision

# SMTP 451: the mail stays queued and goes out on a later run
echo tempfail-rcpt >"$T/smtp/mode"
n=$(count_mails "$T")
REPLY_STYLE=iphone reply "$T" a5 "cto@cdt.ca.gov" "$(last_mail_to "$T" cto@cdt.ca.gov)" "APPROVE"
run_agent "$T"
is "SMTP 451: the decision is recorded" "$(case_state "$T" CGEN-2026-0001)" granted
is "  nothing accepted yet" "$(count_mails "$T")" "$n"
echo accept >"$T/smtp/mode"
run_agent "$T" --now "$(date -u -d "$(clock "$T") + 2 hours" +%Y-%m-%dT%H:%M:%SZ)"
is "  after the backoff the decisions go out (5 mails)" "$(count_mails "$T")" "$((n + 5))"

# SMTP 550: the mail fails for good and the case shows it
echo reject-rcpt >"$T/smtp/mode"
{ echo "From: dana.lee@water.ca.gov"; echo "To: cgen@cdt.ca.gov"; echo "Subject: status"
  echo "Message-ID: <mf6@water.ca.gov>"; echo; echo "STATUS CGEN-2026-0001"; } | deliver "$T" a6
run_agent "$T"
echo accept >"$T/smtp/mode"
check "SMTP 550: the failure is an event on the case" sh -c "'$CGENCTL' -c '$T/cgen.conf' show CGEN-2026-0001 --json | grep -q '\"kind\":\"send_failed\"'"
n=$(count_mails "$T")
run_agent "$T" --now "$(date -u -d "$(clock "$T") + 3 hours" +%Y-%m-%dT%H:%M:%SZ)"
is "  and it is never retried" "$(count_mails "$T")" "$n"

# A mail over max_message_size: answered and quarantined, not fetched whole
{ request_mail "Pat <pat@dmv.ca.gov>" "big" mf7@dmv.ca.gov DMV; head -c 60000 /dev/zero | tr '\0' 'y' | fold -w 76; } | deliver "$T" a7
run_agent "$T"
is "oversize: moved to Quarantine" "$(files_in "$T/dv/mail/u/Maildir/.Quarantine/cur" "$T/dv/mail/u/Maildir/.Quarantine/new")" 1
check "  its sender is told" grep -q 'too large' "$(last_mail_to "$T" pat@dmv.ca.gov)"
check "  queued for an operator" sh -c "'$CGENCTL' -c '$T/cgen.conf' queue | grep -q 'over the limit of 40000 bytes'"

# An untrusted server certificate is refused with a clear log line
sed 's|^ca_file = dv/ca.pem$||' "$T/cgen.conf" >"$T/untrusted.conf"
out=$("$CGEND" -c "$T/untrusted.conf" --once --foreground 2>&1); rc=$?
check "a server certificate from an unknown CA is refused" sh -c "[ $rc -ne 0 ] && echo '$out' | grep -q 'certificate not trusted'"
check "chain intact" "$CGENCTL" -c "$T/cgen.conf" verify
check "no sanitizer report" sh -c "! grep -Eq 'AddressSanitizer|runtime error|LeakSanitizer' '$T/cgend.log'"
tap_end
