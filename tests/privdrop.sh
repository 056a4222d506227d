#!/bin/sh
# The README's steps run as root leave no file that the service account
# cannot write: cgenctl init run as root creates the store as the owner of
# its folder, cgend started as root becomes [daemon] user before it opens
# anything, and mail flows with cgend run as that unprivileged account
# (here "nobody", so that the test creates no account on the machine).
# TAP output.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
if [ "$(id -u)" != 0 ]; then echo "1..0 # SKIP needs root"; exit 0; fi
if ! getent passwd nobody >/dev/null || ! command -v setpriv >/dev/null 2>&1; then
	echo "1..0 # SKIP no account nobody, or no setpriv"; exit 0
fi
T=$(mktemp -d /tmp/cgpd.XXXXXX)
trap 'rm -rf "$T"' EXIT
chmod 755 "$T"
U=nobody
G=$(id -gn "$U")
# The README, as root: the account's state folder (systemd-tmpfiles does
# this from the package), the secret, the configuration.
install -d -o "$U" -g "$G" -m 0700 "$T/state"
install -d -m 0755 "$T/etc"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/etc/secret"
chown "$U:$G" "$T/etc/secret"
chmod 600 "$T/etc/secret"
cat >"$T/etc/cgen.conf" <<CONF
[mailbox]
url = maildir:$T/state/Maildir
[smtp]
url = file:$T/state/outbox
from = CGEN Exemptions <cgen@cdt.ca.gov>
[store]
path = $T/state/cgen.db
[workflow]
cdt = review1@cdt.ca.gov
cto = cto@cdt.ca.gov
[templates]
dir = $top_srcdir/templates
[security]
secret_file = $T/etc/secret
[daemon]
user = $U
CONF
owned_by_root() { find "$T/state" -user root | sed "s|^$T/||"; }

"$CGENCTL" -c "$T/etc/cgen.conf" init >"$T/init.out" 2>&1
is "cgenctl init as root: exit 0" "$?" 0
"$CGENCTL" -c "$T/etc/cgen.conf" directory import "$top_srcdir/etc/entities.csv" >"$T/import.out" 2>&1
is "cgenctl directory import as root: exit 0" "$?" 0
is "  the store belongs to $U" "$(stat -c %U "$T/state/cgen.db" 2>/dev/null)" "$U"
is "  no file of the state folder belongs to root" "$(owned_by_root)" ""

setpriv --reuid="$U" --regid="$G" --clear-groups mkdir -p "$T/state/Maildir/new" "$T/state/Maildir/cur" "$T/state/Maildir/tmp"
request_mail "Dana <dana@water.ca.gov>" "Delta office" pd1@water.ca.gov DWR >"$T/state/Maildir/new/pd1"
chown "$U:$G" "$T/state/Maildir/new/pd1"

# cgend started as root: it becomes $U first
"$CGEND" -c "$T/etc/cgen.conf" --once --foreground 2>"$T/cgend-root.log"
is "cgend --once started as root: exit 0" "$?" 0
check "  it did not stay root" sh -c "! grep -q 'running as root' '$T/cgend-root.log'"
is "  the request is a case" "$("$CGENCTL" -c "$T/etc/cgen.conf" list --json | sed -n 's/^\[{"id":"\([^"]*\)","state":"\([a-z_]*\)".*/\1 \2/p')" "CGEN-2026-0001 awaiting_approvals"
is "  three mails written" "$(ls "$T/state/outbox/new" 2>/dev/null | wc -l | tr -d ' ')" 3
is "  no file of the state folder belongs to root" "$(owned_by_root)" ""

# cgend run by the unprivileged account itself
f=$(grep -l 'X-Envelope-To: <aio@water.ca.gov>' "$T"/state/outbox/new/*.eml | head -n 1)
key=$(sed -n 's/^Reply-To: cgen+\([a-z0-9]*\)@.*/\1/p' "$f" | tr -d '\r')
{ echo "From: aio@water.ca.gov"; echo "To: cgen+$key@cdt.ca.gov"; echo "Subject: Re: approval"
  echo "Message-ID: <pd2@water.ca.gov>"; echo; echo "APPROVE"; } >"$T/state/Maildir/new/pd2"
chown "$U:$G" "$T/state/Maildir/new/pd2"
setpriv --reuid="$U" --regid="$G" --clear-groups "$CGEND" -c "$T/etc/cgen.conf" --once --foreground 2>"$T/cgend-user.log"
is "cgend --once as $U: exit 0" "$?" 0
check "  the approval is recorded" sh -c "'$CGENCTL' -c '$T/etc/cgen.conf' show CGEN-2026-0001 --json | grep -q '\"aio\":\"approved\"'"
check "  status as root reads the store" sh -c "'$CGENCTL' -c '$T/etc/cgen.conf' status | grep -q 'handled today'"
is "  still no file of the state folder belongs to root" "$(owned_by_root)" ""

# [daemon] user naming no account is a configuration error (78)
sed "s/^user = $U\$/user = no-such-account-cgen/" "$T/etc/cgen.conf" >"$T/etc/bad.conf"
out=$("$CGEND" -c "$T/etc/bad.conf" --check-config 2>&1); rc=$?
is "an unknown [daemon] user: exit 78" "$rc" 78
check "  with what to do" sh -c "echo '$out' | grep -q 'no-such-account-cgen: no such account'"
check "no sanitizer report" sh -c "! grep -Eq 'AddressSanitizer|runtime error|LeakSanitizer' '$T'/cgend-*.log"
tap_end
