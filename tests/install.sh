#!/bin/sh
# make install DESTDIR=...: exactly the files an operator needs (programs, man
# pages, templates, examples, README, LICENSE, unit, sysusers, tmpfiles); man
# pages render without a warning; the unit verifies and scores <= 1.5 in
# systemd-analyze security; --version and --help; make uninstall leaves
# nothing. TAP output.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
T=$(mktemp -d /tmp/cgen-inst.XXXXXX)
trap 'rm -rf "$T"' EXIT
D=$T/root
prefix=$(sed -n 's/^prefix = //p' "$top_builddir/Makefile")
[ -n "$prefix" ] || { echo "Bail out! no prefix in $top_builddir/Makefile"; exit 1; }
make -s -C "$top_builddir" install DESTDIR="$D" >"$T/install.log" 2>&1
is "make install DESTDIR exits 0" "$?" 0

# The expected list: every template of templates/, and the rest by name.
{
	echo "$prefix/bin/cgenctl"
	echo "$prefix/sbin/cgend"
	for m in man1/cgenctl.1 man5/cgen.conf.5 man7/cgen-request.7 man8/cgend.8; do
		echo "$prefix/share/man/$m"
	done
	for t in "$top_srcdir"/templates/*.txt "$top_srcdir"/templates/*.html; do
		echo "$prefix/share/cgen-agent/templates/$(basename "$t")"
	done
	echo "$prefix/share/doc/cgen-agent/README.md"
	echo "$prefix/share/doc/cgen-agent/LICENSE"
	echo "$prefix/share/doc/cgen-agent/examples/cgen.conf.example"
	echo "$prefix/share/doc/cgen-agent/examples/entities.csv"
	echo "$prefix/lib/systemd/system/cgend.service"
	echo "$prefix/lib/sysusers.d/cgen-agent.conf"
	echo "$prefix/lib/tmpfiles.d/cgen-agent.conf"
} | sort >"$T/want"
(cd "$D" && find . -type f -o -type l) | sed 's|^\.||' | sort >"$T/got"
if cmp -s "$T/want" "$T/got"; then ok "installs exactly the expected files ($(wc -l <"$T/got"))"
else not_ok "installs exactly the expected files"; diff "$T/want" "$T/got" | sed 's/^/# /'; fi

for m in "$D$prefix"/share/man/man*/*; do
	out=$(groff -mandoc -ww -z "$m" 2>&1)
	is "$(basename "$m"): groff -ww -z has nothing to say" "$out" ""
	out=$(MANWIDTH=80 man --warnings -l "$m" 2>&1 >/dev/null)
	is "$(basename "$m"): man -l renders without a warning" "$out" ""
done

"$D$prefix/sbin/cgend" --version | grep -q '^cgend (cgen-agent) [0-9]'
is "cgend --version" "$?" 0
"$D$prefix/bin/cgenctl" --version | grep -q '^cgenctl (cgen-agent) [0-9]'
is "cgenctl --version" "$?" 0
"$D$prefix/sbin/cgend" --help | grep -q 'check-config'
is "cgend --help" "$?" 0
"$D$prefix/bin/cgenctl" --help | grep -q 'outbox retry'
is "cgenctl --help" "$?" 0
"$D$prefix/sbin/cgend" --bogus >/dev/null 2>&1
is "cgend: a usage error exits 64" "$?" 64
"$D$prefix/bin/cgenctl" -c /nonexistent/cgen.conf list >/dev/null 2>&1
is "cgenctl: a missing configuration exits 78" "$?" 78
unit=$D$prefix/lib/systemd/system/cgend.service
check "the unit runs the installed cgend" grep -q "^ExecStart=$prefix/sbin/cgend " "$unit"
for k in Type=notify User=cgen StateDirectory=cgen ConfigurationDirectory=cgen UMask=0077 \
	ProtectSystem=strict ProtectHome=yes PrivateTmp=yes NoNewPrivileges=yes CapabilityBoundingSet= \
	'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' SystemCallFilter=@system-service \
	MemoryDenyWriteExecute=yes RestartPreventExitStatus=78; do
	check "unit: $k" grep -qx "$k" "$unit"
done
if command -v systemd-analyze >/dev/null 2>&1; then
	# verify the unit as installed, with the programs where DESTDIR put them
	sed "s|$prefix/sbin/cgend|$D$prefix/sbin/cgend|" "$unit" >"$T/cgend.service"
	out=$(MANPATH=$D$prefix/share/man systemd-analyze verify "$T/cgend.service" 2>&1)
	is "systemd-analyze verify has nothing to say" "$out" ""
	score=$(systemd-analyze security --offline=yes "$T/cgend.service" 2>/dev/null |
		sed -n 's/.*Overall exposure level for cgend.service: \([0-9.]*\).*/\1/p')
	check "systemd-analyze security: $score <= 1.5" awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 1.5) }'
else
	ok "# SKIP systemd-analyze not installed"
fi
check "sysusers: the cgen account" grep -q '^u cgen ' "$D$prefix/lib/sysusers.d/cgen-agent.conf"
check "tmpfiles: /var/lib/cgen private to cgen" grep -q '^d /var/lib/cgen 0700 cgen cgen' "$D$prefix/lib/tmpfiles.d/cgen-agent.conf"

make -s -C "$top_builddir" uninstall DESTDIR="$D" >>"$T/install.log" 2>&1
is "make uninstall exits 0" "$?" 0
left=$(cd "$D" && find . -type f -o -type l)
is "make uninstall leaves no file" "$left" ""
tap_end
