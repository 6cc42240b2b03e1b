#!/bin/sh
# confdoc-check.sh SG_CONFDOC OUTDIR FILE... - write each FILE's generated
# regions anew into OUTDIR and fail, with the diff, where the committed FILE
# differs: a key added or changed without `cmake --build BUILD --target
# confdoc` (or without its meaning, which sg_confdoc refuses).
set -u
tool=$1 out=$2
shift 2
mkdir -p "$out" || exit 1
rc=0
for f in "$@"; do
	g="$out/$(basename "$f")"
	"$tool" "$f" "$g" || { rc=1; continue; }
	if ! diff -u "$f" "$g"; then
		echo "confdoc: $f is not what the key tables give;" \
			"run: cmake --build BUILD --target confdoc" >&2
		rc=1
	fi
done
exit $rc
