#!/bin/sh
# lint.sh PAGE... - every manual page passes mandoc -Tlint and groff -ww
# without a message (deploy/install-deps.sh installs mandoc; groff-base
# comes with man-db).
set -u
command -v mandoc >/dev/null ||
	{ echo "lint: mandoc is not installed (deploy/install-deps.sh)" >&2; exit 1; }
rc=0
for p in "$@"; do
	msg=$(mandoc -Tlint -Wall "$p" 2>&1)
	[ -z "$msg" ] || { printf '%s\n' "$msg"; rc=1; }
	if command -v groff >/dev/null; then
		msg=$(groff -man -ww -z "$p" 2>&1)
		[ -z "$msg" ] || { printf '%s: %s\n' "$p" "$msg"; rc=1; }
	fi
done
exit $rc
