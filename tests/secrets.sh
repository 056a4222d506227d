#!/bin/sh
# No secret in any log: every HMAC secret the test agents used (collected by
# tests/lib.sh in tests/secrets.used) is searched for in every test log and
# every daemon log of this run. Runs after the tests that start agents. TAP.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
S=$top_builddir/tests/secrets.used
L=$top_builddir/tests/daemon-logs
if [ ! -s "$S" ]; then echo "1..0 # SKIP no agent ran in this build"; exit 0; fi
n_secrets=$(sort -u "$S" | grep -c .)
n_logs=$(ls "$L"/*.log "$top_builddir"/tests/*.log 2>/dev/null | wc -l | tr -d ' ')
echo "# $n_secrets secrets, $n_logs logs"
check "secrets were collected" [ "$n_secrets" -ge 5 ]
check "daemon logs were kept" [ "$(ls "$L"/*.log 2>/dev/null | wc -l)" -ge 5 ]
found=""
for s in $(sort -u "$S"); do
	f=$(grep -lF "$s" "$L"/*.log "$top_builddir"/tests/*.log 2>/dev/null | grep -v '/secrets\.log$' | head -n 1)
	[ -n "$f" ] && found="$found $f"
done
is "no secret appears in any log" "${found:-none}" none
tap_end
