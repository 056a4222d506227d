#!/bin/sh
# fuzz-smoke.sh: builds the libFuzzer harnesses (make fuzz) and runs each one
# for a few seconds from the seed corpora (fuzz/seeds.sh; inputs cut to 16 KB),
# then runs every crash reproducer kept in tests/regress/ through its harness,
# whole; a reproducer must run cleanly within 5 seconds (slow inputs are
# findings too). TAP: one point per harness, one per reproducer. Skipped
# without clang and its libFuzzer runtime. FUZZ_SECONDS sets the time per
# harness (default 6).
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
cc=${FUZZ_CC:-clang}
secs=${FUZZ_SECONDS:-6}
harnesses="mime form visible command"

if ! command -v "$cc" >/dev/null 2>&1; then
	echo "1..0 # SKIP clang not installed"
	exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-smoke.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/probe.c" <<'EOF'
int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);
int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }
EOF
if ! "$cc" -fsanitize=fuzzer,address,undefined -o "$tmp/probe" "$tmp/probe.c" >/dev/null 2>&1; then
	echo "1..0 # SKIP $cc has no libFuzzer runtime"
	exit 0
fi

repros=
for f in "$top_srcdir"/tests/regress/*-*; do
	[ -f "$f" ] && repros="$repros $f"
done
n=4
for f in $repros; do
	n=$((n + 1))
done
echo "1..$n"

# The harnesses are built by a make of their own, outside the jobserver of
# a calling `make check`; a harness that does not build fails its points.
mk() {
	(unset MAKEFLAGS MFLAGS MAKELEVEL; ${MAKE:-make} -s -C "$top_builddir" FUZZ_CC="$cc" "$@")
}
mk -k -j2 fuzz >"$tmp/build.log" 2>&1
built=
for h in $harnesses; do
	mk -q "fuzz/fuzz_$h" >/dev/null 2>&1 && built="$built $h "
done
[ "$built" = " mime  form  visible  command " ] || sed 's/^/# /' "$tmp/build.log"
sh "$top_srcdir/fuzz/seeds.sh" "$top_srcdir" "$top_srcdir/../shared/corpora" \
	"$tmp/seeds" >/dev/null

# diag LOG: the sanitizer's report (or libFuzzer's verdict) as TAP comments.
diag() {
	grep -E -A 12 -m 1 'ERROR:|runtime error:|ALARM:|deadly signal' "$1" |
		grep -v '^INFO:' | sed 's/^/# /'
	grep -E '^SUMMARY:|Test unit written' "$1" | sed 's/^/# /'
}

i=0
for h in $harnesses; do
	i=$((i + 1))
	mkdir "$tmp/corpus-$h" "$tmp/art-$h"
	if [ "${built#* $h }" = "$built" ]; then
		echo "not ok $i - fuzz_$h: make fuzz failed"
	elif "$top_builddir/fuzz/fuzz_$h" -max_total_time="$secs" -timeout=10 -max_len=16384 \
		-dict="$top_srcdir/fuzz/$h.dict" -artifact_prefix="$tmp/art-$h/" \
		"$tmp/corpus-$h" "$tmp/seeds/$h" >"$tmp/$h.log" 2>&1; then
		echo "ok $i - fuzz_$h: $(grep '^Done' "$tmp/$h.log")"
	else
		echo "not ok $i - fuzz_$h"
		diag "$tmp/$h.log"
	fi
done

for f in $repros; do
	i=$((i + 1))
	name=$(basename "$f")
	h=${name%%-*}
	if [ "${built#* $h }" = "$built" ]; then
		echo "not ok $i - $name: no harness fuzz_$h"
	elif "$top_builddir/fuzz/fuzz_$h" -timeout=5 "$f" >"$tmp/repro.log" 2>&1; then
		echo "ok $i - $name"
	else
		echo "not ok $i - $name"
		diag "$tmp/repro.log"
	fi
done
exit 0
