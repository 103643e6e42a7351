#!/bin/sh
# mk/synopsis.sh: compare each man1 page's SYNOPSIS with the usage
# message its program prints (usage: lines, whitespace-normalized).
set -u
status=0
for page in man/man1/*.1; do
	name=$(basename "$page" .1)
	case $name in
	sluice) cmd="bin/sluice" ;;
	sluice-*)
		sub=${name#sluice-}
		if [ -x "libexec/sluice/$name" ]; then
			cmd="libexec/sluice/$name"
		elif [ -x "libexec/sluice/$sub" ]; then
			cmd="libexec/sluice/$sub"
		else
			cmd="bin/sluice $sub"
		fi ;;
	*) continue ;;
	esac
	want=$(mandoc -T utf8 -O width=400 "$page" 2>/dev/null | col -b |
		awk '/^SYNOPSIS/{s=1;next} /^[A-Z]/{s=0} s' |
		tr -s ' \t\n' ' ' | sed 's/^ //; s/ $//')
	# shellcheck disable=SC2086
	got=$($cmd --usage 2>&1 | sed 's/^usage: //; s/^       //' |
		tr -s ' \t\n' ' ' | sed 's/^ //; s/ $//')
	if [ "$want" != "$got" ]; then
		echo "synopsis mismatch for $page:"
		echo "  man:   $want"
		echo "  usage: $got"
		status=1
	fi
done
exit $status
