# dovecot.sh: a private Dovecot on 127.0.0.1 for tests (sourced by sh).
#
#   dovecot_setup DIR     config, test CA + server certificate (SAN
#                         DNS:localhost, IP:127.0.0.1), user "u" with password
#                         "secret", free ports; writes DIR/ports
#                         ("IMAP_PORT=N IMAPS_PORT=N") and DIR/ca.pem
#   dovecot_start DIR     starts it and waits until both ports listen
#   dovecot_stop DIR      stops it by PID and waits until it is gone
#
# Mail of user u: DIR/mail/u/Maildir (owned by uid 65534 when run as root).
# DIR must be short (Unix socket paths) and its parents must be o+x (Dovecot's
# helpers run as other users). Log: DIR/dovecot.log. Needs dovecot and openssl.

# A TCP port nobody listens on (by /proc/net/tcp; a probe connection would
# start a login process).
dovecot_free_port() {
	while :; do
		_p=$(( (($$ * 7919) + $(od -An -N2 -tu2 /dev/urandom)) % 30000 + 20000 ))
		_h=$(printf '%04X' "$_p")
		grep -q ":$_h " /proc/net/tcp /proc/net/tcp6 2>/dev/null || { echo "$_p"; return 0; }
	done
}

# Waits until port $1 is in LISTEN state (0A), at most 10 s.
dovecot_wait_listen() {
	_h=$(printf '%04X' "$1")
	_i=0
	while [ $_i -lt 200 ]; do
		awk -v h=":$_h" '$2 ~ h"$" && $4 == "0A" { f = 1 } END { exit !f }' /proc/net/tcp && return 0
		sleep 0.05
		_i=$((_i + 1))
	done
	return 1
}

dovecot_setup() {
	_d=$1
	mkdir -p "$_d/run" "$_d/state" "$_d/mail/u/Maildir/new" "$_d/mail/u/Maildir/cur" \
		"$_d/mail/u/Maildir/tmp" || return 1
	chmod o+x "$_d" || return 1
	if [ "$(id -u)" = 0 ]; then
		_uid=65534 _gid=65534 _users=""
		chown -R 65534:65534 "$_d/mail"
	else
		_uid=$(id -u) _gid=$(id -g)
		_users="default_internal_user = $(id -un)
default_login_user = $(id -un)
service anvil {
  chroot =
}
service imap-login {
  chroot =
}"
	fi
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$_d/ca.key" -out "$_d/ca.pem" -days 2 -subj "/CN=cgen test CA" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null || return 1
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$_d/server.key" -out "$_d/server.csr" -subj "/CN=localhost" 2>/dev/null || return 1
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$_d/server.ext"
	openssl x509 -req -in "$_d/server.csr" -CA "$_d/ca.pem" -CAkey "$_d/ca.key" \
		-CAcreateserial -days 2 -extfile "$_d/server.ext" -out "$_d/server.pem" 2>/dev/null || return 1
	chmod 644 "$_d/server.key"
	printf 'u:{PLAIN}secret::::::\n' >"$_d/passwd"
	_imap=$(dovecot_free_port)
	_imaps=$(dovecot_free_port)
	while [ "$_imaps" = "$_imap" ]; do _imaps=$(dovecot_free_port); done
	echo "IMAP_PORT=$_imap IMAPS_PORT=$_imaps" >"$_d/ports"
	cat >"$_d/dovecot.conf" <<EOF
base_dir = $_d/run
state_dir = $_d/state
log_path = $_d/dovecot.log
info_log_path = $_d/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <$_d/server.pem
ssl_key = <$_d/server.key
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_max_userip_connections = 200
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = $_d/passwd
}
userdb {
  driver = static
  args = uid=$_uid gid=$_gid home=$_d/mail/%n
}
service imap-login {
  inet_listener imap {
    port = $_imap
  }
  inet_listener imaps {
    port = $_imaps
    ssl = yes
  }
}
$_users
${DOVECOT_EXTRA_CONF:-}
EOF
}

dovecot_start() {
	_d=$1
	. "$_d/ports"
	dovecot -c "$_d/dovecot.conf" || return 1
	dovecot_wait_listen "$IMAP_PORT" && dovecot_wait_listen "$IMAPS_PORT"
}

dovecot_stop() {
	_d=$1
	[ -f "$_d/run/master.pid" ] || return 0
	_pid=$(cat "$_d/run/master.pid")
	# its children too: an IMAP process outlives a stopped master and would
	# keep serving its client, unlike a real server going down
	_kids=$(awk -v p="$_pid" '$4 == p { print $1 }' /proc/[0-9]*/stat 2>/dev/null)
	kill -TERM "$_pid" $_kids 2>/dev/null
	for _p in "$_pid" $_kids; do
		_i=0
		# a zombie still answers kill -0: look at its state
		while [ -e "/proc/$_p" ] && [ "$(awk '{ print $3 }' "/proc/$_p/stat" 2>/dev/null)" != Z ] &&
			[ $_i -lt 200 ]; do
			sleep 0.05
			_i=$((_i + 1))
		done
	done
	rm -f "$_d/run/master.pid"
}
