#!/bin/sh
# bench/digest-shot.sh [PNG [N]]: renders the HTML part of a CDT digest over N
# (default 12) open cases in headless Chromium and writes a screenshot to PNG
# (default ./digest.png), with the HTML next to it (PNG with .html). The store
# comes from bench/digest.sh; the HTML is taken from the queued mail and
# quoted-printable decoded. Installs chromium with apt-get when it is missing
# and we are root. Not part of make check.
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
PNG=$(realpath -m "${1:-digest.png}")
N=${2:-12}
HTML=${PNG%.png}.html
if ! command -v chromium >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ]; then
		apt-get install -y chromium >/dev/null
	else
		echo "digest-shot: chromium is not installed (apt-get install chromium, as root)" >&2
		exit 77
	fi
fi
SQLITE3=${SQLITE3:-$(command -v sqlite3)}
T=$(mktemp -d /tmp/cgen-digest-shot.XXXXXX)
trap 'rm -rf "$T"' EXIT
top_srcdir=$top_srcdir sh "$top_srcdir/bench/digest.sh" "$N" "$T/agent" >/dev/null
# The last queued mail is a digest: its text/html part, QP-decoded.
"$SQLITE3" "$T/agent/cgen.db" "SELECT writefile('$T/mail.eml', data) FROM outbox ORDER BY id DESC LIMIT 1;" >/dev/null
tr -d '\r' <"$T/mail.eml" |
	awk '/^Content-Type: text\/html/ { on = 1; next } on && /^--=_cgen/ { exit } on == 1 && /^$/ { on = 2; next } on == 2' |
	sed -e ':a' -e '/=$/ { N; s/=\n//; ba' -e '}' |
	LC_ALL=C awk '
		function hex(h,  i, v) { v = 0; for (i = 1; i <= 2; i++) v = v * 16 + index("0123456789ABCDEF", substr(h, i, 1)) - 1; return v }
		{ s = $0; o = ""
		  while (match(s, /=[0-9A-F][0-9A-F]/)) { o = o substr(s, 1, RSTART - 1) sprintf("%c", hex(substr(s, RSTART + 1, 2))); s = substr(s, RSTART + 3) }
		  print o s }' >"$HTML"
grep -q '</html>' "$HTML" || { echo "digest-shot: no HTML part found" >&2; exit 1; }
chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
	--disable-component-update --disable-sync --no-first-run --user-data-dir="$T/profile" \
	--screenshot="$PNG" --window-size=1000,1400 "file://$HTML" 2>"$T/chromium.log" ||
	{ cat "$T/chromium.log" >&2; exit 1; }
echo "$PNG ($(wc -c <"$PNG") bytes) from $HTML"
