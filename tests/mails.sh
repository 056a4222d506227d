#!/bin/sh
# Documents and answer buttons over real mail servers (Dovecot IMAPS in,
# SMTP out, on 127.0.0.1): a request with a vendor quote (PDF), incomplete
# first and then corrected with a coverage map, reaches the AIO, the CIO, CDT
# and the CTO with both PDFs attached; the AIO answers by its mail's APPROVE
# button (the mail the mailto: link describes is built and sent); an INFO
# answer's document is forwarded to CDT; the CDT and CTO packets carry the
# case's history; the central file holds both request versions and every
# document, and verify checks them. Then a mail over max_attachments_size
# lists its documents instead, and cgenctl attachments retrieves them. TAP.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/servers.sh"
if ! servers_available; then echo "1..0 # SKIP dovecot, openssl or aiosmtpd not installed"; exit 0; fi
T=$(mktemp -d /tmp/cgml.XXXXXX)
trap 'servers_stop "$T"; rm -rf "$T"' EXIT
servers_setup "$T" || { echo "Bail out! servers did not start"; cat "$T/dv/dovecot.log" "$T/smtp/log"; exit 1; }

# Three small PDFs, each with bytes of its own.
pdf() { { printf '%%PDF-1.4\n%% %s\n' "$1"; head -c 2500 /dev/urandom | base64; printf '%%%%EOF\n'; } >"$T/$1"; }
pdf quote.pdf; pdf coverage-map.pdf; pdf sla.pdf

# mail_with FROM TO SUBJECT MSGID REFS ATTACHMENT: a multipart mail on stdout,
# the text from stdin, the file attached (application/pdf).
mail_with() {
	_text=$(cat)
	printf 'From: %s\nTo: %s\nSubject: %s\nMessage-ID: <%s>\n' "$1" "$2" "$3" "$4"
	[ -n "$5" ] && printf 'In-Reply-To: <%s>\nReferences: <%s>\n' "$5" "$5"
	printf 'Date: Thu, 26 Nov 2026 08:00:00 -0800\nMIME-Version: 1.0\n'
	printf 'Content-Type: multipart/mixed; boundary="b1"\n\n--b1\n'
	printf 'Content-Type: text/plain; charset=utf-8\n\n%s\n\n--b1\n' "$_text"
	printf 'Content-Type: application/pdf; name="%s"\n' "$(basename "$6")"
	printf 'Content-Disposition: attachment; filename="%s"\nContent-Transfer-Encoding: base64\n\n' "$(basename "$6")"
	base64 "$6"
	printf -- '--b1--\n'
}
form() {
	cat <<FORM
Entity: DWR
Services:
- 2 x 100 Mbps Dedicated Internet Access at 34534 116th St E, Pearblossom, CA 93553
Reason: CGEN has no service at the Pearblossom pumping plant; the nearest node is 40 miles away.
Reason Category: availability
Contract Term: 36 months
Early Termination: none
Extension Options: two 12-month extensions
$1
Cost Items:
- Installation: \$1,200.00
- Monthly service, 36 months: \$96,360.00
Provider: Comcast Business
Vendor Documentation: quote Q-2026-114, attached
FORM
}

# 1. The request, without its Total Cost, with the vendor quote.
form "" | mail_with "Dana Lee <dana.lee@water.ca.gov>" cgen@cdt.ca.gov "Pearblossom exemption" \
	req1@water.ca.gov "" "$T/quote.pdf" >"$T/req1.eml"
deliver "$T" r1 <"$T/req1.eml"
run_agent "$T"
C=CGEN-2026-0001
is "an incomplete request waits for its correction" "$(case_state "$T" $C)" incomplete
inc=$(last_mail_to "$T" dana.lee@water.ca.gov)
check "  the requester is told what is missing" body_has "$inc" 'Total Cost is missing'
check "  that mail is multipart/alternative" grep -q '^Content-Type: multipart/alternative' "$inc"

# 2. The corrected form, in reply, with a coverage map.
form 'Total Cost: $97,560.00' | mail_with "Dana Lee <dana.lee@water.ca.gov>" "$(reply_to "$inc")" \
	"Re: $(header "$inc" Subject)" req2@water.ca.gov "$(message_id "$inc")" "$T/coverage-map.pdf" >"$T/req2.eml"
deliver "$T" r2 <"$T/req2.eml"
run_agent "$T"
is "the corrected request goes to the approvers" "$(case_state "$T" $C)" awaiting_approvals
aio=$(last_mail_to "$T" aio@water.ca.gov)
cio=$(last_mail_to "$T" cio@water.ca.gov)
is "the AIO's subject names case, entity, site and amount" "$(header "$aio" Subject)" \
	"[$C] Approval needed (AIO): DWR, Pearblossom, \$97,560"
for f in quote.pdf coverage-map.pdf; do
	check "the AIO's mail carries $f, byte for byte" sh -c ". '$top_srcdir/tests/lib.sh'; attachment_of '$aio' $f | cmp - '$T/$f'"
	check "the CIO's mail carries $f, byte for byte" sh -c ". '$top_srcdir/tests/lib.sh'; attachment_of '$cio' $f | cmp - '$T/$f'"
done
check "the requester is named by name and address" body_has "$aio" 'Dana Lee <dana.lee@water.ca.gov> of Department of Water Resources'
check "the request is a table, services as rows" body_has "$aio" '^Service            2 x 100 Mbps Dedicated Internet Access$'
check "the text part is format=flowed" grep -q 'format=flowed; delsp=yes' "$aio"
check "no text line over 78 characters" sh -c ". '$top_srcdir/tests/lib.sh'; tr -d '\r' <'$aio' | awk '/^Content-Type: text\/plain/{on=1} /^--=_cgen/{on=0} on && length(\$0) > 78 {bad=1} END{exit bad}'"

# 3. The AIO clicks Approve: the mail client writes what the link says.
link=$(html_of "$aio" | sed -n 's/.*<a href="\(mailto:[^"]*\)"[^>]*>Approve<\/a>.*/\1/p' | head -n 1 | sed 's/&amp;/\&/g')
key=$(reply_to "$aio" | sed 's/^cgen+\([a-z2-7]*\)@.*/\1/')
is "the Approve button writes to the AIO's keyed address" "$(echo "$link" | sed 's/^mailto:\([^?]*\)?.*/\1/')" \
	"cgen+$key@cdt.ca.gov"
subj=$(urldecode "$(echo "$link" | sed 's/.*[?&]subject=\([^&]*\).*/\1/')")
body=$(urldecode "$(echo "$link" | sed 's/.*[?&]body=\([^&]*\).*/\1/')")
is "  with the subject prefilled" "$subj" "Re: [$C] Approval needed (AIO): DWR, Pearblossom, \$97,560"
is "  and APPROVE on the first line" "$(echo "$body" | head -n 1)" APPROVE
printf 'From: Ann Ortiz <aio@water.ca.gov>\nTo: %s\nSubject: %s\nMessage-ID: <click.1@water.ca.gov>\nDate: Thu, 26 Nov 2026 10:00:00 -0800\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n%s\n' \
	"$(echo "$link" | sed 's/^mailto:\([^?]*\)?.*/\1/')" "$subj" "$body" | deliver "$T" click
run_agent "$T"
is "the click approves as AIO" "$(ctl "$T" show $C --json | sed -n 's/.*"approvals":{"aio":"\([a-z]*\)".*/\1/p')" approved

# 4. The CIO approves by reply, with a comment: on to CDT with the documents.
reply "$T" a4 "Carl Ng <cio@water.ca.gov>" "$cio" "APPROVE budget confirmed for FY 2026-27"
run_agent "$T"
is "both approvals: under review at CDT" "$(case_state "$T" $C)" cdt_review
for r in review1 review2; do
	pk=$(last_mail_to "$T" $r@cdt.ca.gov)
	check "the CDT packet to $r carries the quote" sh -c ". '$top_srcdir/tests/lib.sh'; attachment_of '$pk' quote.pdf | cmp - '$T/quote.pdf'"
done
pk=$(last_mail_to "$T" review1@cdt.ca.gov)
check "  and the approvals with their comments" body_has "$pk" 'budget confirmed for FY 2026-27'
check "  naming the approver" body_has "$pk" 'Approved as CIO, Carl Ng <cio@water.ca.gov>'
check "  and offers CDT's commands as buttons" sh -c ". '$top_srcdir/tests/lib.sh'; html_of '$pk' | grep -q '>Recommend approval</a>'"

# 5. CDT asks; the requester answers with the SLA, which CDT receives.
reply "$T" a5 review1@cdt.ca.gov "$pk" "INFO Does the quote include the 4-hour restore SLA?"
run_agent "$T"
q=$(last_mail_to "$T" dana.lee@water.ca.gov)
echo "Yes: the SLA is attached, 4-hour restore on both circuits." |
	mail_with "Dana Lee <dana.lee@water.ca.gov>" "$(reply_to "$q")" "Re: $(header "$q" Subject)" \
		ans@water.ca.gov "$(message_id "$q")" "$T/sla.pdf" | deliver "$T" a6
run_agent "$T"
is "the answer returns the case to CDT" "$(case_state "$T" $C)" cdt_review
fw=$(last_mail_to "$T" review2@cdt.ca.gov)
check "the answer's document is forwarded to CDT" sh -c ". '$top_srcdir/tests/lib.sh'; attachment_of '$fw' sla.pdf | cmp - '$T/sla.pdf'"

# 6. RECOMMEND: the CTO's packet, with every document and the whole story.
reply "$T" a7 review1@cdt.ca.gov "$fw" "RECOMMEND APPROVE no CGEN service at the site"
run_agent "$T"
cto=$(last_mail_to "$T" cto@cdt.ca.gov)
for f in quote.pdf coverage-map.pdf sla.pdf; do
	check "the CTO's packet carries $f" sh -c ". '$top_srcdir/tests/lib.sh'; attachment_of '$cto' $f | cmp - '$T/$f'"
done
check "  CDT's question" body_has "$cto" 'Does the quote include the 4-hour restore SLA?'
check "  the requester's answer" body_has "$cto" 'Yes: the SLA is attached'
check "  the approvals with their comments" body_has "$cto" 'budget confirmed for FY 2026-27'
check "  the recommendation" body_has "$cto" 'no CGEN service at the site'
check "  states in words, not internal names" body_lacks "$cto" 'cdt_review\|cto_decision\|awaiting_'
reply "$T" a8 cto@cdt.ca.gov "$cto" "APPROVE"
run_agent "$T"
is "the CTO grants it" "$(case_state "$T" $C)" granted

# 7. The central file: both versions of the request and every document.
E=$T/central
ctl "$T" export --granted "$E" >/dev/null
check "request.eml is the first request, exact bytes" sh -c "tr -d '\r' <'$E/$C/request.eml' | cmp - '$T/req1.eml'"
check "request-2.eml is the corrected one, exact bytes" sh -c "tr -d '\r' <'$E/$C/request-2.eml' | cmp - '$T/req2.eml'"
for f in quote.pdf coverage-map.pdf sla.pdf; do
	check "attachments/$f kept" cmp "$E/$C/attachments/$f" "$T/$f"
done
check "index.html links the case's folder" grep -q "<a href=\"$C/\">$C</a>" "$E/index.html"
check "  and both request versions" grep -q "href=\"$C/request-2.eml\"" "$E/index.html"
check "verify checks the export" ctl "$T" verify "$E"
echo tampered >>"$E/$C/request-2.eml"
out=$(ctl "$T" verify "$E"); rc=$?
check "verify fails after request-2.eml is altered" test "$rc" -eq 1
check "  naming it" sh -c "echo '$out' | grep -q '$C/request-2.eml: differs from the store'"

# 8. Past max_attachments_size the documents are listed, not attached.
sed -i 's|^\[smtp\]$|[smtp]\nmax_attachments_size = 3000|' "$T/cgen.conf"
form 'Total Cost: $97,560.00' | mail_with "Dana Lee <dana.lee@water.ca.gov>" cgen@cdt.ca.gov "Second site" \
	req3@water.ca.gov "" "$T/quote.pdf" | deliver "$T" r3
run_agent "$T"
big=$(last_mail_to "$T" aio@water.ca.gov)
check "over the limit: the quote is not attached" sh -c "! grep -q 'filename=\"quote.pdf\"' '$big'"
check "  but listed by name and size" body_has "$big" 'quote.pdf ([0-9.]* KB), not attached'
check "  with where to get it" body_has "$big" 'cgenctl attachments CGEN-2026-0002'
ctl "$T" attachments CGEN-2026-0002 --out "$T/got" >/dev/null
check "cgenctl attachments retrieves it" cmp "$T/got/quote.pdf" "$T/quote.pdf"
check "  owner-only" sh -c "[ \"\$(stat -c %a '$T/got/quote.pdf')\" = 600 ]"
check "chain intact" ctl "$T" verify
check "no sanitizer report" sh -c "! grep -Eq 'AddressSanitizer|runtime error|LeakSanitizer' '$T/cgend.log'"
tap_end
