# tests/lib.sh: shell helpers shared by the end-to-end tests and the demo.
# Sourced with top_srcdir and top_builddir set (make check sets both).
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir/_build}
CGEND=$top_builddir/src/cgend
CGENCTL=$top_builddir/src/cgenctl

# --- TAP ---
tap_n=0
tap_failed=0
ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $*"; }
not_ok() { tap_n=$((tap_n + 1)); tap_failed=$((tap_failed + 1)); echo "not ok $tap_n - $*"; }
# check DESCRIPTION COMMAND...: one test point from a command's status.
check() { _check_desc=$1; shift; if "$@" >/dev/null 2>&1; then ok "$_check_desc"; else not_ok "$_check_desc"; fi; }
# is DESCRIPTION GOT WANT
is() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1"; echo "#   got:  '$2'"; echo "#   want: '$3'"; fi
}
tap_end() { echo "1..$tap_n"; [ "$tap_failed" -eq 0 ]; }

# --- an agent in a folder ---
# setup_agent DIR: Maildir, outbox, secret, config and the sample directory.
setup_agent() {
	d=$1
	mkdir -p "$d/Maildir/tmp" "$d/Maildir/new" "$d/Maildir/cur" "$d/outbox"
	head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$d/secret"
	echo >>"$d/secret"
	chmod 600 "$d/secret"
	# For tests/secrets.sh: the secret, and the daemon's log kept after the
	# test's folder is gone.
	if [ -n "${CGEN_TEST_LOGS:-}" ] && mkdir -p "$top_builddir/tests/daemon-logs" 2>/dev/null; then
		cat "$d/secret" >>"$top_builddir/tests/secrets.used"
		ln -sf "$top_builddir/tests/daemon-logs/$(basename "$d").log" "$d/cgend.log"
	fi
	cat >"$d/cgen.conf" <<CONF
[mailbox]
url = maildir:Maildir

[smtp]
url = file:outbox
from = CGEN Exemptions <cgen@cdt.ca.gov>

[store]
path = cgen.db

[workflow]
cdt = review1@cdt.ca.gov, review2@cdt.ca.gov
cto = cto@cdt.ca.gov

[templates]
dir = $top_srcdir/templates

[security]
secret_file = secret
CONF
	# No command but init creates a store.
	"$CGENCTL" -c "$d/cgen.conf" init >/dev/null
	"$CGENCTL" -c "$d/cgen.conf" directory import "$top_srcdir/etc/entities.csv" >/dev/null
}

# deliver DIR NAME: the mail on stdin arrives in DIR's Maildir as NAME.
deliver() {
	cat >"$1/Maildir/tmp/$2" && mv "$1/Maildir/tmp/$2" "$1/Maildir/new/$2"
}

# The agent's clock in tests: each run_agent is one hour after the previous
# one, from Thursday 2026-11-26 08:00 Pacific, so nothing depends on the day
# the tests run.
clock() {
	t=$(cat "$1/.clock" 2>/dev/null || echo 1795708800)
	date -u -d "@$t" +%Y-%m-%dT%H:%M:%SZ
}
tick() {
	t=$(cat "$1/.clock" 2>/dev/null || echo 1795708800)
	echo $((t + 3600)) >"$1/.clock"
}
# run_agent DIR [ARGS]: one pass of the daemon.
run_agent() {
	d=$1; shift
	tick "$d"
	"$CGEND" -c "$d/cgen.conf" --once --foreground --now "$(clock "$d")" "$@" 2>>"$d/cgend.log"
}
# ctl DIR ARGS: cgenctl at the agent's clock.
ctl() {
	d=$1; shift
	"$CGENCTL" -c "$d/cgen.conf" --now "$(clock "$d")" "$@"
}

# mails_to DIR ADDR: outbox files addressed to ADDR, oldest first.
mails_to() {
	for f in $(ls "$1/outbox/new" 2>/dev/null | sort -n); do
		grep -qi "^X-Envelope-To: <$2>" "$1/outbox/new/$f" && echo "$1/outbox/new/$f"
	done
}
last_mail_to() { mails_to "$1" "$2" | tail -n 1; }
count_mails() { ls "$1/outbox/new" 2>/dev/null | wc -l | tr -d ' '; }

# header FILE NAME: one header's value, unfolded.
header() {
	tr -d '\r' <"$1" | awk -v h="$2" '
		/^$/ { exit }
		tolower($0) ~ "^" tolower(h) ":" { sub(/^[^:]*:[ \t]*/, ""); v = $0; on = 1; next }
		on && /^[ \t]/ { sub(/^[ \t]+/, " "); v = v $0; next }
		{ on = 0 }
		END { print v }'
}
reply_to() { header "$1" Reply-To; }
message_id() { header "$1" Message-ID | tr -d '<>'; }
# The text of an outbox mail: its text/plain part (the whole body when it
# is not multipart), quoted-printable decoded, format=flowed undone (soft
# breaks joined with DelSp, space-stuffing removed).
body_of() {
	tr -d '\r' <"$1" | awk '
		st == 0 { if ($0 == "") st = multi ? 1 : 3; else if (tolower($0) ~ /^content-type: *multipart\//) multi = 1; next }
		st == 1 { if (tolower($0) ~ /^content-type: *text\/plain/) st = 2; next }
		st == 2 { if ($0 == "") st = 3; next }
		st == 3 { if (multi && $0 ~ /^--=_cgen/) exit; print }' |
		sed -e ':a' -e '/=$/ { N; s/=\n//; ba' -e '}' |
		sed -e 's/=3D/=/g' -e 's/=20$/ /' |
		awk '{ l = $0
			if (l == "-- ") { print acc l; acc = ""; next }
			if (substr(l, 1, 1) == " ") l = substr(l, 2)
			if (l ~ / $/) { acc = acc substr(l, 1, length(l) - 1); next }
			print acc l; acc = "" }
		END { if (acc != "") print acc }'
}

# reply DIR NAME FROM REPLIED-TO-FILE TEXT: FROM answers an outbox mail, the
# text on top and the original quoted below it the way the client in
# REPLY_STYLE does: gmail (default: "On ... wrote:" and "> " lines), outlook
# (a "From:/Sent:/To:/Subject:" block, unquoted) or iphone ("Sent from my
# iPhone", then the quote).
reply() {
	d=$1 name=$2 from=$3 orig=$4 text=$5
	to=$(reply_to "$orig")
	[ -n "$to" ] || to=cgen@cdt.ca.gov
	subj=$(header "$orig" Subject)
	mid=$(message_id "$orig")
	# Shapes of real mail systems, for correlation and attack tests:
	# REPLY_PLAIN_TO=1 the server dropped the +KEY sub-address; REPLY_NO_REFS=1
	# the client dropped In-Reply-To/References; REPLY_SUBJECT_PREFIX a gateway's
	# tag; REPLY_HEADERS extra header lines (first on top).
	[ "${REPLY_PLAIN_TO:-0}" = 1 ] && to=cgen@cdt.ca.gov
	{
		[ -n "${REPLY_HEADERS:-}" ] && printf '%s\n' "$REPLY_HEADERS"
		echo "From: $from"
		echo "To: $to"
		case ${REPLY_STYLE:-gmail} in
		outlook) echo "Subject: ${REPLY_SUBJECT_PREFIX:-}RE: $subj" ;;
		*) echo "Subject: ${REPLY_SUBJECT_PREFIX:-}Re: $subj" ;;
		esac
		echo "Message-ID: <$name.$$@example.test>"
		if [ -n "$mid" ] && [ "${REPLY_NO_REFS:-0}" != 1 ]; then
			echo "In-Reply-To: <$mid>"; echo "References: <$mid>"
		fi
		echo "Date: Thu, 26 Nov 2026 10:00:00 -0800"
		echo
		printf '%s\n\n' "$text"
		case ${REPLY_STYLE:-gmail} in
		outlook)
			echo "________________________________"
			echo "From: CGEN Exemptions <cgen@cdt.ca.gov>"
			echo "Sent: Thursday, November 26, 2026 9:00 AM"
			echo "To: $from"
			echo "Subject: $subj"
			echo
			body_of "$orig" ;;
		iphone)
			echo "Sent from my iPhone"
			echo
			echo "> On Nov 26, 2026, at 9:00 AM, CGEN Exemptions <cgen@cdt.ca.gov> wrote:"
			echo ">"
			body_of "$orig" | sed 's/^/> /' ;;
		*)
			echo "On Thu, Nov 26, 2026 at 9:00 AM CGEN Exemptions <cgen@cdt.ca.gov> wrote:"
			body_of "$orig" | sed 's/^/> /' ;;
		esac
	} | deliver "$d" "$name"
}

# json_field JSON KEY: the first "KEY":"value" string of a JSON text.
case_state() { ctl "$1" show "$2" --json | sed -n 's/^{"id":"[^"]*","state":"\([a-z_]*\)".*/\1/p'; }
first_case() { ctl "$1" list --json | sed -n 's/^\[{"id":"\([^"]*\)".*/\1/p'; }
# case_of_mail FILE: the case tag in an outbox mail's subject.
case_of_mail() { header "$1" Subject | sed -n 's/.*\[\(CGEN-[0-9]*-[0-9]*\)\].*/\1/p'; }

# request FROM SUBJECT MSGID ENTITY TOTAL: a complete request mail on stdout.
request_mail() {
	cat <<MAIL
From: $1
To: cgen@cdt.ca.gov
Subject: $2
Message-ID: <$3>
Date: Thu, 26 Nov 2026 08:00:00 -0800
Content-Type: text/plain; charset=utf-8

Hello CDT,

Please find our CGEN exemption request below.

Entity: $4
Services:
- 2 x 100 Mbps Dedicated Internet Access at 3500 Industrial Blvd, West Sacramento, CA 95691
Reason: CGEN has no service at the Delta field office; the nearest node is 40 miles away.
Reason Category: availability
Contract Term: 36 months
Early Termination: none
Extension Options: two 12-month extensions
Total Cost: ${5:-\$97,560.00}
Cost Items:
- Installation: \$1,200.00
- Monthly service, 36 months: \$96,360.00
Provider: Comcast Business
Vendor Documentation: quote Q-2026-114
Service Levels: 99.9% availability, 4-hour restore

Thanks,
Dana
MAIL
}
# grant_case DIR PREFIX DOMAIN [CONDITIONS]: the entity's AIO and CIO (at
# DOMAIN), then CDT and the CTO move the latest case to granted; the replies
# are named PREFIX-1-aio, PREFIX-2-cio, PREFIX-3-cdt, PREFIX-4-cto (in the
# order a Maildir lists them).
grant_case() {
	reply "$1" "$2-1-aio" "aio@$3" "$(last_mail_to "$1" "aio@$3")" "APPROVE"
	reply "$1" "$2-2-cio" "cio@$3" "$(last_mail_to "$1" "cio@$3")" "APPROVE"
	run_agent "$1"
	reply "$1" "$2-3-cdt" review1@cdt.ca.gov "$(last_mail_to "$1" review1@cdt.ca.gov)" \
		"RECOMMEND APPROVE no CGEN service at the site"
	run_agent "$1"
	reply "$1" "$2-4-cto" cto@cdt.ca.gov "$(last_mail_to "$1" cto@cdt.ca.gov)" "APPROVE ${4:-}"
	run_agent "$1"
}
body_has() { body_of "$1" | grep -q -- "$2"; }

# urldecode TEXT: %XX decoded, %0D%0A as a line break (mailto: fields).
urldecode() {
	echo "$1" | sed 's/%0D%0A/\
/g' | LC_ALL=C awk '
		function hex(h,  i, v) { v = 0; for (i = 1; i <= 2; i++) v = v * 16 + index("0123456789ABCDEF", substr(h, i, 1)) - 1; return v }
		{ s = $0; o = ""
		  while (match(s, /%[0-9A-F][0-9A-F]/)) { o = o substr(s, 1, RSTART - 1) sprintf("%c", hex(substr(s, RSTART + 1, 2))); s = substr(s, RSTART + 3) }
		  print o s }'
}

# html_of FILE: the text/html part of an outbox mail, quoted-printable decoded.
html_of() {
	tr -d '\r' <"$1" | awk '
		st == 0 { if (tolower($0) ~ /^content-type: *text\/html/) st = 1; next }
		st == 1 { if ($0 == "") st = 2; next }
		st == 2 { if ($0 ~ /^--=_cgen/) exit; print }' |
		sed -e ':a' -e '/=$/ { N; s/=\n//; ba' -e '}' |
		LC_ALL=C awk '
		function hex(h,  i, v) { v = 0; for (i = 1; i <= 2; i++) v = v * 16 + index("0123456789ABCDEF", substr(h, i, 1)) - 1; return v }
		{ s = $0; o = ""
		  while (match(s, /=[0-9A-F][0-9A-F]/)) { o = o substr(s, 1, RSTART - 1) sprintf("%c", hex(substr(s, RSTART + 1, 2))); s = substr(s, RSTART + 3) }
		  print o s }'
}

# attachment_of FILE NAME: the decoded bytes of the attachment named NAME
# (a plain ASCII filename="NAME") of an outbox mail, on stdout.
attachment_of() {
	tr -d '\r' <"$1" | awk -v n="filename=\"$2\"" '
		st == 0 { if (index($0, n)) st = 1; next }
		st == 1 { if ($0 == "") st = 2; next }
		st == 2 { if ($0 ~ /^--/ || $0 == "") exit; print }' | base64 -d
}
body_lacks() { ! body_of "$1" | grep -q -- "$2"; }

# Makes the store $1 look as schema version 4 left it: the tables, indexes
# and columns later sections of src/schema.sql added are dropped, whatever
# the current version is (needs $SQLITE3).
store_to_v4() {
	_ref=$1.v4ref
	rm -f "$_ref"
	sed '/^-- version 5$/,$d' "$top_srcdir/src/schema.sql" | "$SQLITE3" "$_ref"
	_drops=$("$SQLITE3" "$1" "ATTACH '$_ref' AS r;
		SELECT 'DROP ' || upper(m.type) || ' ' || m.name || ';' FROM main.sqlite_master m
		 WHERE m.name NOT LIKE 'sqlite%' AND m.type IN ('table', 'index', 'view', 'trigger')
		 AND m.name NOT IN (SELECT name FROM r.sqlite_master) ORDER BY m.type = 'table';
		SELECT 'ALTER TABLE ' || t.name || ' DROP COLUMN ' || c.name || ';'
		 FROM r.sqlite_master t, pragma_table_info(t.name, 'main') c
		 WHERE t.type = 'table' AND t.name NOT LIKE 'sqlite%'
		 AND c.name NOT IN (SELECT name FROM pragma_table_info(t.name, 'r'));")
	rm -f "$_ref"
	"$SQLITE3" "$1" "$_drops PRAGMA user_version = 4;"
}
