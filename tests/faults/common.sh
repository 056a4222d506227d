# tests/faults/common.sh: what the fault tests share (sourced after
# tests/lib.sh): a real Dovecot and tests/smtpd.py on 127.0.0.1
# (tests/servers.sh), a cgend running in the background that is started,
# killed and stopped by PID, the mixed workload and its invariants
# (tests/faults/workload.py). FULL=1 in the environment: the full form.
. "$top_srcdir/tests/servers.sh"
WL=$top_srcdir/tests/faults/workload.py
SQLITE3=${SQLITE3:-sqlite3}
FULL=${FULL:-0}
[ "$FULL" = 0 ] || FULL=1

# faults_setup DIR: servers and an agent; limits meant for floods are
# lifted (the load here is the workload, not an attack) and a send gets
# [smtp] timeout seconds (default 5).
faults_setup() {
	servers_setup "$1" || return 1
	sed -i -e "s|^\[security\]\$|[security]\nrate_limit = 100000\ncase_rate_limit = 100000\nanswer_limit = 100000\ncase_open_limit = 100000|" \
		-e "s|^starttls = yes\$|starttls = yes\ntimeout = ${SMTP_TIMEOUT:-5}s|" "$1/cgen.conf"
	# the clock: Thursday 2026-11-26 08:00 Pacific
	echo 1795708800 >"$1/.clock"
}

# now DIR: the agent's clock, epoch seconds; advance DIR SECONDS.
now() { cat "$1/.clock"; }
advance() { echo $(($(now "$1") + $2)) >"$1/.clock"; }

# daemon_start DIR: cgend in the background at DIR's clock; DPID.
daemon_start() {
	"$CGEND" -c "$1/cgen.conf" --foreground --now "$(clock "$1")" 2>>"$1/cgend.log" &
	DPID=$!
}
# alive PID: running, and not a zombie waiting to be reaped.
alive() { [ -e "/proc/$1" ] && ! grep -q ') Z' "/proc/$1/stat" 2>/dev/null; }
daemon_kill() {
	kill -9 "$DPID" 2>/dev/null
	wait "$DPID" 2>/dev/null
	DPID=
}
# daemon_stop: SIGTERM; the exit status.
daemon_stop() {
	kill -TERM "$DPID" 2>/dev/null
	wait "$DPID"
	_rc=$?
	DPID=
	return $_rc
}

# wait_idle DIR [SECONDS]: until the INBOX is empty and nothing is due or
# being sent, three looks in a row (default at most 180 s).
wait_idle() {
	_n=$(( ${2:-180} * 4 )) _q=0
	while [ $_n -gt 0 ]; do
		if "$PY3" "$WL" idle "$1" "$(now "$1")" 2>/dev/null; then
			_q=$((_q + 1))
			[ $_q -ge 3 ] && return 0
		else
			_q=0
		fi
		sleep 0.25
		_n=$((_n - 1))
	done
	return 1
}

# invariants DIR LABEL [--final] [--allow-failed]: the chain verifies and the
# workload's invariants hold (workload.py check), each a test point.
invariants() {
	_d=$1 _l=$2
	shift 2
	if "$CGENCTL" -c "$_d/cgen.conf" verify >"$_d/verify.out" 2>&1; then
		ok "$_l: every case's events verify"
	else
		not_ok "$_l: every case's events verify"
		sed 's/^/#   /' "$_d/verify.out" | head -5
	fi
	"$PY3" "$WL" check "$_d" "$(now "$_d")" "$@" >"$_d/check.out" 2>&1
	while IFS= read -r _line; do
		case $_line in
		"ok - "*) ok "$_l: ${_line#ok - }" ;;
		"not ok - "*) not_ok "$_l: ${_line#not ok - }" ;;
		*) echo "$_line" ;;
		esac
	done <"$_d/check.out"
	grep -q ' - lost: ' "$_d/check.out" || not_ok "$_l: the checks ran"
	if grep -Eq 'AddressSanitizer|runtime error|LeakSanitizer' "$_d/cgend.log"; then
		not_ok "$_l: no sanitizer report"
		grep -E -m3 'AddressSanitizer|runtime error|LeakSanitizer' "$_d/cgend.log" | sed 's/^/#   /'
	else
		ok "$_l: no sanitizer report"
	fi
}

# rand MAX: a number in 0..MAX-1.
rand() { echo $(( $(od -An -N4 -tu4 /dev/urandom) % $1 )); }
# sleep_ms MS
sleep_ms() { sleep "$(awk -v m="$1" 'BEGIN { printf("%.3f", m / 1000) }')"; }
