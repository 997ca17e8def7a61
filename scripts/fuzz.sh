#!/usr/bin/env bash
# Runs every fuzz test in turn, each for the given time (default 15s; CI
# runs this after the test suite). Longer local runs: scripts/fuzz.sh 30m.
# A failing input is written under the package's testdata/fuzz/FuzzName and
# the run stops; commit it once fixed, as a regression seed.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-15s}
fuzzers=(
	"./proxy/anthropic FuzzPeek"
	"./proxy/anthropic FuzzAppendString"
	"./proxy/sse FuzzReader"
	"./proxy/openai FuzzStreamConverter"
	"./proxy/openai FuzzConvertRequest"
	"./proxy/openai FuzzConvertResponse"
	"./proxy/openai FuzzCursorSkip"
	"./config FuzzParse"
	"./proxy/tokens FuzzEstimate"
	"./proxy/tokens FuzzCount"
	"./proxy FuzzRedact"
)
# Every fuzz test of the repository must be in the list above.
listed=$(printf '%s\n' "${fuzzers[@]}" | awk '{print $2}' | sort)
found=$(grep -rhoE '^func Fuzz[A-Za-z0-9_]+' --include='*_test.go' . | sed 's/^func //' | sort)
if [[ "$listed" != "$found" ]]; then
	echo "scripts/fuzz.sh: the list differs from the fuzz tests in the repository:" >&2
	diff <(echo "$listed") <(echo "$found") >&2 || true
	exit 1
fi
for f in "${fuzzers[@]}"; do
	read -r pkg name <<<"$f"
	echo "== $name ($pkg, $fuzztime)"
	go test "$pkg" -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime"
done
