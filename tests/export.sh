#!/bin/sh
# The central file: cases granted through the real cgend, exported with
# cgenctl export --granted and checked with cgenctl verify DIR (and with
# sha256sum -c). TAP output.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
if ! "$CGENCTL" --help 2>/dev/null | grep -q 'export --granted'; then
	echo "1..0 # SKIP this cgenctl has no export command"
	exit 0
fi
T=$(mktemp -d /tmp/cgen-export.XXXXXX)
trap 'rm -rf "$T"' EXIT
setup_agent "$T"
E=$T/central

# A request with attachments: a hostile name and two of the same name.
request_with_attachments() {
	request_mail "Dana Lee <dana.lee@water.ca.gov>" "CGEN exemption: Delta" req-x@water.ca.gov DWR |
		awk 'NR == 6 { print "MIME-Version: 1.0"; print "Content-Type: multipart/mixed; boundary=\"zz\"";
			       print ""; print "--zz"; print "Content-Type: text/plain; charset=utf-8"; next }
		     { print }'
	cat <<'MAIL'
--zz
Content-Type: text/plain
Content-Disposition: attachment; filename="../../etc/passwd"

root:x:0:0:root:/root:/bin/sh
--zz
Content-Type: application/pdf
Content-Disposition: attachment; filename="quote.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQKcXVvdGUgb25lCg==
--zz
Content-Type: application/pdf
Content-Disposition: attachment; filename="quote.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQKcXVvdGUgdHdvCg==
--zz--
MAIL
}

# grant DIR CASE REQUESTER-DOMAIN: AIO, CIO, CDT and CTO move the case to granted.
grant() {
	reply "$T" "$2-aio" "aio@$3" "$(last_mail_to "$T" "aio@$3")" "APPROVE"
	run_agent "$T"
	reply "$T" "$2-cio" "cio@$3" "$(last_mail_to "$T" "cio@$3")" "APPROVE"
	run_agent "$T"
	reply "$T" "$2-cdt" review1@cdt.ca.gov "$(last_mail_to "$T" review1@cdt.ca.gov)" \
		"RECOMMEND APPROVE no CGEN service at the site"
	run_agent "$T"
	reply "$T" "$2-cto" cto@cdt.ca.gov "$(last_mail_to "$T" cto@cdt.ca.gov)" "APPROVE review at renewal, 2029"
	run_agent "$T"
}

request_with_attachments >"$T/request1.eml"
deliver "$T" r1 <"$T/request1.eml"
run_agent "$T"
grant "$T" a water.ca.gov
is "case 0001 granted" "$(case_state "$T" CGEN-2026-0001)" granted
# The second case is granted two days later (local time).
echo $(($(cat "$T/.clock") + 2 * 86400)) >"$T/.clock"
request_mail "Pat Kim <pat.kim@dmv.ca.gov>" "DMV exemption" req-y@dmv.ca.gov DMV >"$T/request2.eml"
deliver "$T" r2 <"$T/request2.eml"
run_agent "$T"
grant "$T" b dmv.ca.gov
is "case 0002 granted" "$(case_state "$T" CGEN-2026-0002)" granted
request_mail "Dana Lee <dana.lee@water.ca.gov>" "Another one" req-z@water.ca.gov DWR | deliver "$T" r3
run_agent "$T"
is "case 0003 stays open" "$(case_state "$T" CGEN-2026-0003)" awaiting_approvals

out=$(ctl "$T" export --granted "$E"); rc=$?
is "export exits 0" "$rc" 0
is "export reports what it did" "$out" "exported 2 granted cases to $E: 14 files written, 0 unchanged"
is "one folder per granted case, and every file" "$(cd "$E" && find . -type f | sort | tr '\n' ' ')" \
	"./CGEN-2026-0001/attachments/_._etc_passwd ./CGEN-2026-0001/attachments/quote-2.pdf ./CGEN-2026-0001/attachments/quote.pdf ./CGEN-2026-0001/case.json ./CGEN-2026-0001/decision.eml ./CGEN-2026-0001/events.jsonl ./CGEN-2026-0001/request.eml ./CGEN-2026-0002/case.json ./CGEN-2026-0002/decision.eml ./CGEN-2026-0002/events.jsonl ./CGEN-2026-0002/request.eml ./SHA256SUMS ./index.csv ./index.html "
check "nothing written outside the export folder" sh -c "[ ! -e '$E/etc' ] && [ ! -e '$E/CGEN-2026-0001/etc' ]"
check "the request is the exact mail received" cmp "$T/request1.eml" "$E/CGEN-2026-0001/request.eml"
check "the second request too" cmp "$T/request2.eml" "$E/CGEN-2026-0002/request.eml"
is "../../etc/passwd lands inside its folder, decoded" "$(cat "$E/CGEN-2026-0001/attachments/_._etc_passwd")" \
	"root:x:0:0:root:/root:/bin/sh"
is "first quote.pdf" "$(cat "$E/CGEN-2026-0001/attachments/quote.pdf")" "%PDF-1.4
quote one"
is "second quote.pdf, renamed" "$(cat "$E/CGEN-2026-0001/attachments/quote-2.pdf")" "%PDF-1.4
quote two"
dec=$(grep -l 'Decision: exemption granted' $(mails_to "$T" dana.lee@water.ca.gov))
is "one decision was mailed to the requester" "$(echo "$dec" | wc -l | tr -d ' ')" 1
tail -n +3 "$dec" >"$T/decision1.eml"
# The store keeps a sent mail without its reply key (a copy of the central
# file must not let anyone answer as the requester): the same bytes otherwise.
key=$(sed -n 's/^Reply-To: cgen+\([a-z2-7]*\)@.*/\1/p' "$T/decision1.eml" | head -n 1)
sed "s/$key/removed-once-sent---------/g" "$T/decision1.eml" >"$T/decision1.nokey"
check "decision.eml is the decision mailed to the requester, exact bytes but the key" \
	cmp "$T/decision1.nokey" "$E/CGEN-2026-0001/decision.eml"
check "  it holds no reply key" sh -c "[ -n '$key' ] && ! grep -q '$key' '$E/CGEN-2026-0001/decision.eml'"
no_age() { sed 's/"age_days":[0-9]*,//'; }
is "case.json is the show --json object" "$(no_age <"$E/CGEN-2026-0001/case.json")" \
	"$(ctl "$T" show CGEN-2026-0001 --json | no_age)"
nev=$(ctl "$T" show CGEN-2026-0001 --json | grep -o '"kind":' | wc -l | tr -d ' ')
is "events.jsonl has one line per event" "$(wc -l <"$E/CGEN-2026-0001/events.jsonl" | tr -d ' ')" "$nev"
check "each event line carries seq, prev and hash" sh -c \
	"! grep -Ev '^\{\"seq\":[0-9]+,\"at\":\"[^\"]+\",\"kind\":.*,\"prev\":\"[0-9a-f]{64}\",\"hash\":\"[0-9a-f]{64}\"\}$' '$E/CGEN-2026-0001/events.jsonl'"
is "index.csv: header and one row per case" "$(tr -d '\r' <"$E/index.csv" | cut -d, -f1-5,8)" \
	"id,entity,requester,provider,total_cost_cents,conditions
CGEN-2026-0001,DWR,dana.lee@water.ca.gov,Comcast Business,9756000,\"review at renewal
CGEN-2026-0002,DMV,pat.kim@dmv.ca.gov,Comcast Business,9756000,\"review at renewal"
check "index.csv quotes the conditions (RFC 4180)" grep -q ',"review at renewal, 2029"'"$(printf '\r')"'$' "$E/index.csv"
check "SHA256SUMS checks with sha256sum -c" sh -c "cd '$E' && sha256sum --quiet --strict -c SHA256SUMS"
is "SHA256SUMS lists every other file" "$(wc -l <"$E/SHA256SUMS" | tr -d ' ')" 13

out=$(ctl "$T" verify "$E"); rc=$?
is "verify DIR passes after the export" "$rc" 0
check "and says the export matches the store" sh -c "echo '$out' | grep -q 'export $E matches the store: 2 cases'"
check "verify still checks the chain" sh -c "echo '$out' | grep -q 'event chain intact'"
is "verify without a folder: the chain only" "$(ctl "$T" verify >/dev/null; echo $?)" 0

snap() { (cd "$E" && find . -printf '%p %i %s %T@\n' | sort); }
before=$(snap)
sleep 1
out=$(ctl "$T" export --granted "$E")
is "a second export writes nothing" "$out" "exported 2 granted cases to $E: 0 files written, 14 unchanged"
is "and changes no file, inode or mtime" "$(snap)" "$before"

printf 'x' >>"$E/CGEN-2026-0001/attachments/quote.pdf"
out=$(ctl "$T" verify "$E"); rc=$?
is "verify fails after one exported file is altered" "$rc" 1
check "naming it against SHA256SUMS" sh -c "echo '$out' | grep -qx 'CGEN-2026-0001/attachments/quote.pdf: does not match its SHA256SUMS line'"
check "and against the store" sh -c "echo '$out' | grep -qx 'CGEN-2026-0001/attachments/quote.pdf: differs from the store'"
is "no other file is named" "$(echo "$out" | grep -c '^CGEN-2026-0002')" 0
echo extra >"$E/CGEN-2026-0002/notes.txt"
out=$(ctl "$T" verify "$E")
check "an added file is named" sh -c "echo '$out' | grep -qx 'CGEN-2026-0002/notes.txt: not listed in SHA256SUMS'"
rm "$E/CGEN-2026-0002/notes.txt"
ctl "$T" export --granted "$E" >/dev/null
is "a re-export repairs the altered file" "$(ctl "$T" verify "$E" >/dev/null; echo $?)" 0

ctl "$T" export --granted "$T/dmv" --entity dmv >/dev/null
is "--entity: only that entity's cases" "$(ls "$T/dmv" | tr '\n' ' ')" "CGEN-2026-0002 SHA256SUMS index.csv index.html "
# 0001 was granted on 2026-11-26, 0002 on 2026-11-28 (Pacific time).
ctl "$T" export --granted "$T/since" --since 2026-11-27 >/dev/null
is "--since: cases granted on or after that local day" "$(ls "$T/since" | tr '\n' ' ')" "CGEN-2026-0002 SHA256SUMS index.csv index.html "
ctl "$T" export --granted "$T/since" --since 2026-11-26 >/dev/null
is "a wider --since adds to the same folder" "$(ls "$T/since" | tr '\n' ' ')" "CGEN-2026-0001 CGEN-2026-0002 SHA256SUMS index.csv index.html "
is "which verifies" "$(ctl "$T" verify "$T/since" >/dev/null; echo $?)" 0
is "--since that is not a date: usage error" "$(ctl "$T" export --granted "$T/bad" --since 2026-13-01 2>/dev/null; echo $?)" 64
is "export without --granted: usage error" "$(ctl "$T" export "$T/x" 2>/dev/null; echo $?)" 64
mkdir "$E/CGEN-2026-0003"
is "export refuses a folder of a case that is not granted" "$(ctl "$T" export --granted "$E" 2>/dev/null; echo $?)" 1
check "verify names it" sh -c "'$CGENCTL' -c '$T/cgen.conf' verify '$E' | grep -qx 'CGEN-2026-0003: not a granted case in the store'"
tap_end
