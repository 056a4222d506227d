#!/bin/sh
# scripts/package builds the Debian package (lintian: no error); the .deb is
# installed with dpkg --root into a throw-away root (an overlay of / in a
# private mount namespace, gone when the test ends): it creates the cgen
# account, installs the unit enabled but not started, and `cgend
# --check-config` on the shipped example works there. TAP output.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
if [ "$(id -u)" != 0 ]; then echo "1..0 # SKIP needs root (dpkg --root, mount)"; exit 0; fi
if ! command -v dpkg-buildpackage >/dev/null 2>&1 || ! command -v lintian >/dev/null 2>&1 ||
	! command -v dh >/dev/null 2>&1; then
	echo "1..0 # SKIP dpkg-buildpackage, debhelper or lintian not installed (scripts/deps.sh)"; exit 0
fi
# make distcheck makes its source tree read-only (root writes anyway): the
# package is built from the real tree only.
case $(stat -c %A "$top_srcdir") in
d?w*) ;;
*) echo "1..0 # SKIP read-only source tree (make distcheck)"; exit 0 ;;
esac
T=$(mktemp -d /tmp/cgpk.XXXXXX)
host_had=$(dpkg-query -W -f='${Status}' cgen-agent 2>/dev/null)
trap 'rm -rf "$T"' EXIT

sh "$top_srcdir/scripts/package" "$T/out" >"$T/package.log" 2>&1
is "scripts/package exits 0" "$?" 0 || { tail -n 40 "$T/package.log" | sed 's/^/# /'; tap_end; exit 1; }
deb=$(ls "$T"/out/cgen-agent_*.deb 2>/dev/null | head -n 1)
check "a .deb is built" [ -f "$deb" ]
check "lintian: no error" sh -c "! grep -q '^E: ' '$T/out/lintian.log'"
sed 's/^/# lintian: /' "$T/out/lintian.log"
dpkg-deb -c "$deb" >"$T/contents"
for f in ./usr/sbin/cgend ./usr/bin/cgenctl ./lib/systemd/system/cgend.service \
	./usr/share/man/man8/cgend.8.gz ./usr/share/man/man1/cgenctl.1.gz ./usr/share/man/man5/cgen.conf.5.gz \
	./usr/share/man/man7/cgen-request.7.gz ./usr/share/doc/cgen-agent/examples/cgen.conf.example \
	./usr/share/cgen-agent/templates/ack.txt; do
	check "the package holds $f" grep -q " $f\$" "$T/contents"
done
dpkg-deb -e "$deb" "$T/control"
check "postinst never starts the service" sh -c "! grep -q 'deb-systemd-invoke.*start' '$T/control/postinst'"

# The throw-away root: an overlay of / (writes go to $T/upper), in a mount
# namespace of its own, so nothing outlives this test.
mkdir -p "$T/upper" "$T/work" "$T/root"
cat >"$T/inroot.sh" <<'IN'
R=$1 DEB=$2
mount -t overlay overlay -o "lowerdir=/,upperdir=$3/upper,workdir=$3/work" "$R" || exit 1
mount --bind /dev "$R/dev" && mount -t proc proc "$R/proc" || exit 1
export DEBIAN_FRONTEND=noninteractive
dpkg --root="$R" --force-unsafe-io -i "$DEB" >"$3/dpkg.log" 2>&1 && echo "dpkg=0"
chroot "$R" getent passwd cgen >/dev/null && echo "account=0"
[ -f "$R/lib/systemd/system/cgend.service" ] && echo "unit=0"
[ -L "$R/etc/systemd/system/multi-user.target.wants/cgend.service" ] && echo "enabled=0"
[ "$(chroot "$R" stat -c '%U %a' /var/lib/cgen)" = "cgen 700" ] && echo "state=0"
chroot "$R" sh -c '
	cp /usr/share/doc/cgen-agent/examples/cgen.conf.example /etc/cgen/cgen.conf
	head -c 32 /dev/urandom | od -An -tx1 | tr -d " \n" >/etc/cgen/secret
	chown cgen /etc/cgen/secret && chmod 600 /etc/cgen/secret
	cgenctl init && cgend --check-config' >"$3/check.log" 2>&1 && echo "check=0"
[ "$(chroot "$R" stat -c '%U %a' /var/lib/cgen/cgen.db)" = "cgen 600" ] && echo "store=0"
chroot "$R" cgenctl status >"$3/status.log" 2>&1; echo "status=$?"
IN
unshare --mount --propagation private sh "$T/inroot.sh" "$T/root" "$deb" "$T" >"$T/inroot.out" 2>"$T/inroot.err"
r() { sed -n "s/^$1=//p" "$T/inroot.out"; }
is "dpkg --root installs the .deb" "$(r dpkg)" 0 || sed 's/^/# /' "$T/dpkg.log" "$T/inroot.err"
is "  the package created the cgen account" "$(r account)" 0
is "  the unit is installed" "$(r unit)" 0
is "  and enabled (it starts once /etc/cgen/cgen.conf exists)" "$(r enabled)" 0
is "  /var/lib/cgen belongs to cgen, mode 700" "$(r state)" 0
is "cgend --check-config on the shipped example works there" "$(r check)" 0 || sed 's/^/# /' "$T/check.log"
check "  it says the configuration is ok" grep -q 'configuration ok' "$T/check.log"
is "  cgenctl init, run as root, made the store as cgen, mode 600" "$(r store)" 0
is "  cgenctl status runs there (exit 1: cgend is not running)" "$(r status)" 1
is "the machine's own package database is unchanged" "$(dpkg-query -W -f='${Status}' cgen-agent 2>/dev/null)" "$host_had"
tap_end
