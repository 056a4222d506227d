#!/bin/sh
# Dovecot killed (-9, the master and every child) in the middle of the
# agent's UID FETCH, of its UID MOVE and of its IDLE, then started again:
# cgend reconnects on its own and loses nothing. The moment is read from
# Dovecot's rawlog of the agent's session (the command has reached the
# server). The invariants of tests/faults/workload.py after each. FULL=1:
# each fault three times. TAP output.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"
. "$top_srcdir/tests/faults/common.sh"
if ! servers_available; then echo "1..0 # SKIP dovecot, openssl or aiosmtpd not installed"; exit 0; fi
T=$(mktemp -d /tmp/cgfi.XXXXXX)
DPID=
trap '[ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null; servers_stop "$T"; rm -rf "$T"' EXIT
RAW=$T/raw
mkdir -p "$RAW"
chmod 777 "$RAW"
DOVECOT_EXTRA_CONF="protocol imap {
  rawlog_dir = $RAW
}"
export DOVECOT_EXTRA_CONF
faults_setup "$T" || { echo "Bail out! servers did not start"; cat "$T/dv/dovecot.log" "$T/smtp/log"; exit 1; }
if [ "$FULL" = 1 ]; then REPEAT=3; else REPEAT=1; fi
SEED=${SEED:-$(rand 100000)}
echo "# seed $SEED"

# dovecot_kill9: every process of this Dovecot gets SIGKILL at once.
dovecot_kill9() {
	_m=$(cat "$T/dv/run/master.pid")
	_kids=$(awk -v p="$_m" '$4 == p { print $1 }' /proc/[0-9]*/stat 2>/dev/null)
	kill -9 "$_m" $_kids 2>/dev/null
	for _p in "$_m" $_kids; do
		_i=0
		while [ -e "/proc/$_p" ] && [ "$(awk '{ print $3 }' "/proc/$_p/stat" 2>/dev/null)" != Z ] &&
			[ $_i -lt 100 ]; do sleep 0.05; _i=$((_i + 1)); done
	done
	rm -f "$T/dv/run/master.pid"
}
# kill_on PATTERN [SECONDS]: Dovecot killed the moment the agent's session
# sends a command matching PATTERN (a Python regex); 0 when it did.
kill_on() {
	"$PY3" "$WL" watch "$RAW" "$1" "${2:-60}" "$T/dv/run/master.pid" >"$T/watch.out" 2>&1
	_rc=$?
	sed 's/^/# /' "$T/watch.out"
	dovecot_kill9
	return $_rc
}
# big mails: a request with a 300 kB attachment each, so that a FETCH of a
# batch takes long enough to be cut
big_mails() {
	_i=0
	while [ $_i -lt "$1" ]; do
		_i=$((_i + 1))
		_n=$2-$_i
		{
			printf 'From: Big %s <big%s@water.ca.gov>\r\nTo: cgen@cdt.ca.gov\r\nSubject: Request %s\r\n' "$_n" "$_n" "$_n"
			printf 'Message-ID: <big%s@faults.test>\r\nDate: Thu, 26 Nov 2026 08:00:00 -0800\r\nMIME-Version: 1.0\r\n' "$_n"
			printf 'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n'
			request_mail x x x DWR | sed -n '/^Entity:/,/^Service Levels/p' | sed 's/$/\r/'
			printf '\r\n--b\r\nContent-Type: application/octet-stream; name="quote.bin"\r\n'
			printf 'Content-Disposition: attachment; filename="quote.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
			head -c 300000 /dev/urandom | base64 | sed 's/$/\r/'
			printf '\r\n--b--\r\n'
		} >"$T/big.tmp"
		"$PY3" - "$T" "$_n" <<'PY'
import json, os, sys
d, n = sys.argv[1], sys.argv[2]
p = os.path.join(d, "wl", "inbound.json")
st = json.load(open(p)) if os.path.exists(p) else {"n": 0, "inbound": [], "answered": []}
st["inbound"].append({"mid": "big%s@faults.test" % n, "kind": "request", "from": "big%s@water.ca.gov" % n,
                      "exempt": False, "complete": True})
os.makedirs(os.path.join(d, "wl"), exist_ok=True)
json.dump(st, open(p + ".tmp", "w")); os.rename(p + ".tmp", p)
PY
		deliver "$T" "big$_n" <"$T/big.tmp"
	done
}

k=1
while [ $k -le $REPEAT ]; do
	# --- mid-FETCH: the bodies of a batch of big mails are on their way ---
	"$PY3" "$WL" gen "$T" 20 $((SEED + k)) >/dev/null
	big_mails $((20 + 20 * FULL)) "f$k"
	# the watcher reads the rawlogs from their ends: it starts first
	"$PY3" "$WL" watch "$RAW" 'UID FETCH .*BODY' 60 "$T/dv/run/master.pid" >"$T/watch.out" 2>&1 &
	WPID=$!
	sleep 0.5
	daemon_start "$T"
	wait "$WPID"
	wrc=$?
	sed 's/^/# /' "$T/watch.out"
	dovecot_kill9
	if [ $wrc = 0 ]; then ok "mid-FETCH $k: Dovecot killed while the agent fetched bodies"; else not_ok "mid-FETCH $k: Dovecot killed while the agent fetched bodies"; fi
	
	sleep 1
	check "mid-FETCH $k: cgend keeps running while Dovecot is down" alive "$DPID"
	dovecot_start "$T/dv"
	check "mid-FETCH $k: after Dovecot's restart all is handled and sent" wait_idle "$T"
	invariants "$T" "mid-FETCH $k"

	# --- mid-MOVE: the agent moves what it committed to Processed ---
	# cgend is idle in IDLE: the new mails wake it up
	( sleep 0.5; "$PY3" "$WL" gen "$T" 60 $((SEED + 100 + k)) >/dev/null ) &
	GPID=$!
	if kill_on 'UID MOVE'; then ok "mid-MOVE $k: Dovecot killed as the agent moved mails"; else not_ok "mid-MOVE $k: Dovecot killed as the agent moved mails"; fi
	wait "$GPID"
	sleep 1
	check "mid-MOVE $k: cgend keeps running while Dovecot is down" alive "$DPID"
	dovecot_start "$T/dv"
	check "mid-MOVE $k: after Dovecot's restart all is handled and sent" wait_idle "$T"
	invariants "$T" "mid-MOVE $k"

	# --- mid-IDLE: the agent waits for new mail ---
	# a fresh session (the restart above) says IDLE once it is done
	if kill_on '^[0-9.]+ [0-9]+ IDLE' 30; then ok "mid-IDLE $k: Dovecot killed while the agent was in IDLE"; else not_ok "mid-IDLE $k: Dovecot killed while the agent was in IDLE"; fi
	sleep 1
	check "mid-IDLE $k: cgend keeps running while Dovecot is down" alive "$DPID"
	dovecot_start "$T/dv"
	"$PY3" "$WL" gen "$T" 20 $((SEED + 200 + k)) >/dev/null
	check "mid-IDLE $k: mail delivered after the restart is handled and answered" wait_idle "$T"
	invariants "$T" "mid-IDLE $k"
	daemon_stop
	is "round $k: SIGTERM: cgend exits 0" "$?" 0
	advance "$T" 3600
	k=$((k + 1))
done

# --- a MOVE refused (Processed cannot be written): what the agent committed
# stays in the INBOX at or below its last UID, never read again; the next
# session (or the same one 30 s later) moves it where it belongs ---
PROC=$T/dv/mail/u/Maildir/.Processed
before=$(grep -c 'UID MOVE' "$T/cgend.log")
daemon_start "$T"
wait_idle "$T" 60
chmod 555 "$PROC/new" "$PROC/cur" "$PROC/tmp"
"$PY3" "$WL" gen "$T" 10 $((SEED + 300)) >/dev/null
i=0
while [ "$(grep -c 'UID MOVE' "$T/cgend.log")" = "$before" ] && [ $i -lt 240 ]; do sleep 0.25; i=$((i + 1)); done
sleep 1
left=$(ls "$T/dv/mail/u/Maildir/new" "$T/dv/mail/u/Maildir/cur" | grep -vc '^$\|:$')
daemon_stop
is "MOVE refused: SIGTERM: cgend exits 0" "$?" 0
chmod 755 "$PROC/new" "$PROC/cur" "$PROC/tmp"
check "MOVE refused: Dovecot said no and the mails stayed in the INBOX ($left)" test "$left" -gt 0
daemon_start "$T"
check "MOVE refused: the next session moves them to Processed" wait_idle "$T" 60
check "MOVE refused: cgend says so" grep -q 'were still in INBOX' "$T/cgend.log"
daemon_stop
is "MOVE refused: SIGTERM: cgend exits 0" "$?" 0
invariants "$T" "end" --final

# status_once: in each of the agent's sessions (Dovecot's rawlog), at most
# one STATUS (processed_folder's mark; then the COPYUID of each move), and
# one more after each move or copy the server refused
status_once() {
	"$PY3" - "$RAW" <<'PY'
import glob, os, sys
bad = []
for fin in sorted(glob.glob(os.path.join(sys.argv[1], "*.in"))):
    moves, status = set(), 0
    for line in open(fin, errors="replace"):
        p = line.split(None, 3)
        if len(p) >= 3 and p[2].upper() == "STATUS":
            status += 1
        elif len(p) == 4 and p[2].upper() == "UID" and p[3][:4].upper() in ("MOVE", "COPY"):
            moves.add(p[1])
    refused = 0
    fout = fin[:-3] + ".out"
    for line in open(fout, errors="replace") if os.path.exists(fout) else []:
        p = line.split(None, 3)
        if len(p) >= 3 and p[1] in moves and p[2].upper() in ("NO", "BAD"):
            refused += 1
    if status > 1 + refused:
        bad.append("%s: %d STATUS, %d moves refused" % (os.path.basename(fin), status, refused))
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
}
sessions=$(ls "$RAW"/*.in 2>/dev/null | wc -l)
check "STATUS of Processed at most once a session, and after a refused move ($sessions sessions)" status_once
grep -c 'mailbox:' "$T/cgend.log" | sed 's/^/# mailbox errors logged by cgend: /'
grep -c 'a move broken off after its copy' "$T/cgend.log" |
	sed 's/^/# moves broken off after their copy, found and not copied twice: /'
tap_end
