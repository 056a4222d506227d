# tests/servers.sh: an agent on real servers for the shell tests (sourced
# after tests/lib.sh): a private Dovecot (IMAPS, tests/dovecot.sh) as the
# mailbox and tests/smtpd.py (SMTP with STARTTLS) as the relay, both on
# 127.0.0.1, started here and stopped by PID.
. "$top_srcdir/tests/dovecot.sh"
PY3=/usr/bin/python3

servers_available() {
	command -v dovecot >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1 &&
		"$PY3" -c 'import aiosmtpd' >/dev/null 2>&1
}

# servers_setup DIR: DIR/dv (Dovecot), DIR/smtp (smtpd.py), DIR/cgen.conf.
servers_setup() {
	_s=$1
	setup_agent "$_s"
	chmod o+x "$_s"
	dovecot_setup "$_s/dv" && dovecot_start "$_s/dv" || return 1
	. "$_s/dv/ports"
	mkdir -p "$_s/smtp"
	"$PY3" "$top_srcdir/tests/smtpd.py" "$_s/smtp" --starttls "$_s/dv/server.pem" "$_s/dv/server.key" \
		>"$_s/smtp/log" 2>&1 &
	echo $! >"$_s/smtp/pid"
	_i=0
	while [ ! -s "$_s/smtp/port" ] && [ $_i -lt 100 ]; do sleep 0.1; _i=$((_i + 1)); done
	[ -s "$_s/smtp/port" ] || return 1
	printf 'secret\n' >"$_s/imap-password"
	chmod 600 "$_s/imap-password"
	sed -i -e "s|^url = maildir:Maildir\$|url = imaps://u@127.0.0.1:$IMAPS_PORT/INBOX\npassword_file = imap-password\nca_file = dv/ca.pem\npoll_interval = 2|" \
		-e "s|^url = file:outbox\$|url = smtp://localhost:$(cat "$_s/smtp/port")\nstarttls = yes\nca_file = dv/ca.pem|" \
		"$_s/cgen.conf"
}

servers_stop() {
	_s=$1
	if [ -f "$_s/smtp/pid" ]; then
		_p=$(cat "$_s/smtp/pid")
		kill "$_p" 2>/dev/null
		wait "$_p" 2>/dev/null
	fi
	dovecot_stop "$_s/dv" 2>/dev/null
}

# deliver DIR NAME: the mail on stdin arrives in the Dovecot INBOX.
deliver() {
	_m=$1/dv/mail/u/Maildir
	cat >"$_m/tmp/$2" || return 1
	[ "$(id -u)" = 0 ] && chown 65534:65534 "$_m/tmp/$2"
	mv "$_m/tmp/$2" "$_m/new/$2"
}

# sync_sent DIR: what the SMTP server accepted, as outbox-style files in
# DIR/outbox/new (envelope lines first), so lib.sh's mail helpers read it.
sync_sent() {
	mkdir -p "$1/outbox/new"
	for _e in "$1"/smtp/mail/*.env; do
		[ -f "$_e" ] || continue
		_n=$(basename "$_e" .env)
		[ -f "$1/outbox/new/$_n.eml" ] && continue
		{
			printf 'X-Envelope-From: <%s>\r\n' "$(head -n 1 "$_e")"
			tail -n +2 "$_e" | while read -r _r; do printf 'X-Envelope-To: <%s>\r\n' "$_r"; done
			cat "$1/smtp/mail/$_n.eml"
		} >"$1/outbox/new/$_n.eml"
	done
}

# run_agent DIR: one pass of the daemon, then what was sent is synced.
run_agent() {
	_r=$1; shift
	tick "$_r"
	"$CGEND" -c "$_r/cgen.conf" --once --foreground --now "$(clock "$_r")" "$@" 2>>"$_r/cgend.log"
	_rc=$?
	sync_sent "$_r"
	return $_rc
}
