#!/bin/sh
# seeds.sh SRCDIR CORPORA OUT: fills OUT/{mime,form,visible,command}/ with seed
# inputs for the harnesses. Whole mails seed the MIME harness; mail bodies,
# forms and replies seed the others. Corpus files are copied (never edited);
# a missing CORPORA folder leaves only the project's own seeds.
set -eu
src=$1
corpora=$2
out=$3

rm -rf "$out"
mkdir -p "$out/mime" "$out/form" "$out/visible" "$out/command"

# put DIR FILE...: copies each file under a name that keeps its origin.
put() {
	dir=$1
	shift
	for f in "$@"; do
		[ -f "$f" ] || continue
		name=${f#"$corpora"/}
		name=$(printf '%s' "${name#"$src"/}" | tr -c 'A-Za-z0-9._-' '_')
		cp "$f" "$out/$dir/$name"
	done
}

put mime "$src"/scripts/demo-mails/*.eml "$src"/tests/regress/mime-* "$src"/tests/request-mails/*.eml
put form "$src"/templates/request-form.txt "$src"/scripts/demo-mails/*.eml \
	"$src"/tests/regress/form-* "$src"/tests/request-mails/*.eml
put visible "$src"/scripts/demo-mails/*.eml "$src"/tests/regress/visible-*
put command "$src"/templates/help.txt "$src"/tests/regress/command-*

if [ -d "$corpora" ]; then
	put mime $(find "$corpora/cpython_email/data" "$corpora/flanker_messages" \
		"$corpora/sisimai_set_of_emails/maildir" "$corpora/talon" -type f \
		\( -name '*.eml' -o -name 'msg_*.txt' \) | sort)
	put form $(find "$corpora/email_reply_parser/emails" -type f | sort)
	put visible $(find "$corpora/email_reply_parser/emails" "$corpora/talon/fixtures" \
		-type f ! -name '*.eml' | sort)
	put command $(find "$corpora/email_reply_parser/expected_visible" \
		"$corpora/talon/fixtures/standard_replies" -type f ! -name '*.eml' | sort)
fi

# Command lines of DESIGN.md section 3, one seed each.
n=0
while IFS= read -r line; do
	n=$((n + 1))
	printf '%s\n' "$line" > "$out/command/line-$n"
done <<'LINES'
APPROVE
Approved.
REJECT The services are available from the statewide contract.
DENY
WITHDRAW
RECOMMEND APPROVE the cost is within the range
recommend denied: no reason
INFO What is the contract term?
NOTE Called the vendor.
STATUS
AUDIT
HELP
FORM
I approve
do not approve
approve, no wait, reject
approve?
Please note the date
LINES

for d in mime form visible command; do
	echo "$d: $(ls "$out/$d" | wc -l) seeds"
done
