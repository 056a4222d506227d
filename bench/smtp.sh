#!/bin/sh
# bench/smtp.sh [N [ROUNDS]]: N (default 10000) mails of about 400 bytes to
# smtp-sink on 127.0.0.1, by smtp-source over one reused connection and by
# sender_smtp (bench/smtp.c, built here with -O2, no sanitizers), taking turns
# ROUNDS times (default 3). Prints every run, then the best rate of each and
# their ratio: the machine is shared, so the best run is the least disturbed.
# Not part of make check.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-10000}
ROUNDS=${2:-3}
dir=$(mktemp -d /tmp/cgen-bench-smtp.XXXXXX)
sink=
cleanup() {
	if [ -n "$sink" ]; then
		kill "$sink" 2>/dev/null || :
		wait "$sink" 2>/dev/null || :
	fi
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

echo '#define _GNU_SOURCE 1' >"$dir/config.h"
gcc -std=c11 -O2 -I"$dir" -I"$top/src" -o "$dir/bench" "$top/bench/smtp.c" \
	"$top/src/sender_smtp.c" "$top/src/util.c" "$top/src/log.c" $(pkg-config --cflags --libs libcurl)

mkdir -p "$dir/sink"
user=
[ "$(id -u)" -eq 0 ] && { user="-u nobody"; chmod 777 "$dir/sink"; chmod o+x "$dir"; }
for try in 1 2 3 4 5 6 7 8 9 10; do
	port=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 30000))
	smtp-sink $user -d "$dir/sink/%Y%m%d%H%M%S." "127.0.0.1:$port" 128 2>"$dir/sink.log" &
	sink=$!
	sleep 0.3
	kill -0 "$sink" 2>/dev/null && break
	sink=
done
[ -n "$sink" ] || { echo "smtp-sink did not start: $(cat "$dir/sink.log")" >&2; exit 1; }

# timed NAME COMMAND...: runs it, checks the sink kept N mails, prints
# "NAME: seconds, mails/s, client CPU per mail" and appends the rate to $dir/NAME.
timed() {
	name=$1
	shift
	find "$dir/sink" -type f -delete
	/usr/bin/time -f '%e %U %S' -o "$dir/time" "$@" >"$dir/out" 2>"$dir/err" ||
		{ cat "$dir/err" >&2; exit 1; }
	got=$(find "$dir/sink" -type f | wc -l)
	[ "$got" -eq "$N" ] || { echo "$name: the sink kept $got of $N mails" >&2; exit 1; }
	read -r wall user sys <"$dir/time"
	rate=$(echo "$N / $wall" | bc -l)
	printf '%-12s %6.3f s  %6.0f mails/s  client CPU %3.0f us/mail\n' "$name:" "$wall" "$rate" \
		"$(echo "($user + $sys) * 1000000 / $N" | bc -l)"
	echo "$rate" >>"$dir/$name"
}
best() { sort -g "$dir/$1" | tail -1; }

echo "$N mails of about 400 bytes, $ROUNDS rounds"
for r in $(seq "$ROUNDS"); do
	timed smtp-source smtp-source -s 1 -d -m "$N" -l 400 -f cgen@cdt.ca.gov \
		-t someone@example.org "127.0.0.1:$port"
	timed sender_smtp "$dir/bench" "$port" "$N"
	sed -n 's/.*debug: smtp [^ ]* \(.*connections\)/  sender_smtp: \1/p' "$dir/err"
done
s=$(best smtp-source)
o=$(best sender_smtp)
printf 'best: smtp-source %.0f mails/s, sender_smtp %.0f mails/s, ratio %.2f\n' "$s" "$o" \
	"$(echo "$o / $s" | bc -l)"
