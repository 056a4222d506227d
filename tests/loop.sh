#!/bin/sh
# No mail loops: a naive auto-responder (no Auto-Submitted header, answers
# every mail within a second) runs against cgend over real IMAP (IDLE) and
# SMTP for 60 s; the agent sends it no more mails than rate_limit. A polite
# one (Auto-Submitted: auto-replied) gets nothing at all after the first.
# TAP output.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/servers.sh"
if ! servers_available; then echo "1..0 # SKIP dovecot, openssl or aiosmtpd not installed"; exit 0; fi
T=$(mktemp -d /tmp/cglp.XXXXXX)
trap 'kill $BOTS 2>/dev/null; [ -f "$T/cgend.pid" ] && kill "$(cat "$T/cgend.pid")" 2>/dev/null; servers_stop "$T"; rm -rf "$T"' EXIT
servers_setup "$T" || { echo "Bail out! servers did not start"; exit 1; }
printf '\nrate_limit = 5\n' >>"$T/cgen.conf"
LIMIT=5 SECONDS_RUN=${LOOP_SECONDS:-60}

# bot ADDR POLITE: answers every mail the agent sends ADDR, within a second.
bot() {
	addr=$1 polite=$2 seen=""
	end=$(( $(date +%s) + SECONDS_RUN ))
	while [ "$(date +%s)" -lt "$end" ]; do
		for e in "$T"/smtp/mail/*.env; do
			[ -f "$e" ] || continue
			grep -qx "$addr" "$e" || continue
			n=$(basename "$e" .env)
			case " $seen " in *" $n "*) continue ;; esac
			seen="$seen $n"
			subj=$(header "$T/smtp/mail/$n.eml" Subject)
			{
				echo "From: $addr"; echo "To: cgen@cdt.ca.gov"; echo "Subject: Re: $subj"
				echo "Message-ID: <bot.$n.$$@water.ca.gov>"
				[ "$polite" = yes ] && echo "Auto-Submitted: auto-replied"
				echo; echo "Thank you for your message. It has been received."
			} | deliver "$T" "bot-$addr-$n"
		done
		sleep 0.3
	done
}

"$CGEND" -c "$T/cgen.conf" --foreground 2>>"$T/cgend.log" &
echo $! >"$T/cgend.pid"
bot naive@water.ca.gov no & BOTS=$!
bot polite@water.ca.gov yes & BOTS="$BOTS $!"
for who in naive polite; do
	{ echo "From: $who@water.ca.gov"; echo "To: cgen@cdt.ca.gov"; echo "Subject: hello"
	  echo "Message-ID: <start.$who@water.ca.gov>"; echo; echo "hello, is this the CGEN mailbox?"; } |
		deliver "$T" "start-$who"
done
wait $BOTS
BOTS=""
cpid=$(cat "$T/cgend.pid")
kill "$cpid"
wait "$cpid"
rm -f "$T/cgend.pid"
sync_sent "$T"
naive=$(mails_to "$T" naive@water.ca.gov | wc -l | tr -d ' ')
polite=$(mails_to "$T" polite@water.ca.gov | wc -l | tr -d ' ')
echo "# in $SECONDS_RUN s: $naive mails to the naive responder, $polite to the polite one (rate_limit $LIMIT)"
check "the naive responder got mail (the loop was tried)" [ "$naive" -ge 2 ]
check "but no more than rate_limit ($LIMIT) mails" [ "$naive" -le "$LIMIT" ]
is "the polite responder got only the first answer" "$polite" 1
check "the rate limit was logged" grep -q 'rate limit: naive@water.ca.gov' "$T/cgend.log"
check "SIGTERM stopped cgend cleanly" sh -c "grep -q 'stopping' '$T/cgend.log'"
tap_end
