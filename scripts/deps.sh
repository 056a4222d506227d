#!/bin/sh
# Installs what cgen-agent needs to build and test on Debian 12.
# As root: apt-get installs what is missing. Otherwise: prints the exact
# apt-get line and fails.
PKGS="gcc make autoconf automake pkg-config libetpan-dev libcurl4-gnutls-dev \
libsqlite3-dev sqlite3 libpcre2-dev libgnutls28-dev libxml2-dev libzip-dev libjansson-dev libcmocka-dev \
clang libclang-rt-14-dev dovecot-core dovecot-imapd postfix python3-aiosmtpd \
swaks openssl \
debhelper lintian fakeroot systemd groff-base man-db"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	# postfix is installed for its smtp-sink test server only: no mail system.
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
		{ echo "apt-get install failed:$missing" >&2; exit 1; }
else
	echo "missing packages; run as root:" >&2
	echo "  apt-get install -y$missing" >&2
	exit 1
fi
