#!/usr/bin/env bash
# Runs the real Claude Code CLI (npm @anthropic-ai/claude-code) in -p mode
# against a scripted fake Messages API (scripts/claude-code-fake.py) once per
# failure case, and prints a markdown table: what the CLI printed, its exit
# code, how many requests it made, over how long, with which gaps, and whether
# it honoured retry-after or fell back to a non-streaming request.
#
# Each run is alone in a private network namespace (unshare -rn, only lo up),
# with a clean HOME and working directory, ANTHROPIC_API_KEY=dummy and
# CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_TELEMETRY=1, and is
# bounded in time (see scripts/claude-code-lib.sh). A whole run of the matrix
# takes about 25 minutes: the CLI's longest retry series (10
# retries, or retry-after 60 s honoured ten times) last 3 to 11 minutes.
#
# Needs: bash, python3, npm (only to install the CLI once), unshare, ip.
# Usage: scripts/claude-code-errors.sh [CASE...]     (default: every case)
#        scripts/claude-code-errors.sh --list
# Environment:
#   CLAUDE_CODE_VERSION  npm version to install (default: latest)
#   CLAUDE_BIN           use this claude binary instead of installing one
#   JOBS                 cases run at once (default 6; runs are mostly waits)
#   CASE_TIMEOUT         seconds before a run is killed, unless the case sets
#                        its own limit (default 900)
#   OUT                  where runs are kept (default .cache/claude-code-errors)
# The table goes to stdout; details of every run stay under $OUT/<case>/.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

PERM_MSG="all providers refused: A: HTTP 401 invalid key; B: HTTP 402 no credit"
BUSY_MSG="all providers busy: A: overloaded, back in 5 s; B: timed out"

# name|scenario|fake options (words)|message (perm, busy or none)|seconds before the
# run is killed (default CASE_TIMEOUT); a run cut by its limit exits 124
CASES=(
	"400-invalid_request_error|error:400:invalid_request_error||perm"
	"401-authentication_error|error:401:authentication_error||perm"
	"403-permission_error|error:403:permission_error||perm"
	"402-billing_error|error:402:billing_error||perm"
	"404-not_found_error|error:404:not_found_error||perm"
	"413-request_too_large|error:413:request_too_large||perm"
	"422-invalid_request_error|error:422:invalid_request_error||perm"
	"429-rate_limit_error-ra5|error:429:rate_limit_error|--retry-after=5|busy"
	"429-rate_limit_error-ra60|error:429:rate_limit_error|--retry-after=60|busy"
	"503-overloaded_error-ra5|error:503:overloaded_error|--retry-after=5|busy"
	"503-api_error-ra5|error:503:api_error|--retry-after=5|busy"
	"503-api_error-ra60|error:503:api_error|--retry-after=60|busy"
	"529-overloaded_error|error:529:overloaded_error||busy"
	"529-overloaded_error-ra5|error:529:overloaded_error|--retry-after=5|busy"
	"500-api_error|error:500:api_error||busy"
	"503-overloaded_error-ra5-xsr-false|error:503:overloaded_error|--retry-after=5 --should-retry=false|busy"
	"503-api_error-ra5-xsr-false|error:503:api_error|--retry-after=5 --should-retry=false|busy"
	"529-overloaded_error-xsr-false|error:529:overloaded_error|--should-retry=false|busy"
	"429-rate_limit_error-ra5-xsr-false|error:429:rate_limit_error|--retry-after=5 --should-retry=false|busy"
	"400-invalid_request_error-xsr-true|error:400:invalid_request_error|--should-retry=true|perm"
	"400-billing_error|error:400:billing_error||perm"
	"400-invalid_request_error-xsr-false|error:400:invalid_request_error|--should-retry=false|perm"
	"401-authentication_error-xsr-false|error:401:authentication_error|--should-retry=false|perm"
	"403-invalid_request_error|error:403:invalid_request_error||perm"
	"404-invalid_request_error|error:404:invalid_request_error||perm"
	"402-invalid_request_error|error:402:invalid_request_error||perm"
	"409-invalid_request_error|error:409:invalid_request_error||perm"
	"429-rate_limit_error-ra61|error:429:rate_limit_error|--retry-after=61|busy"
	"503-api_error-ra61|error:503:api_error|--retry-after=61|busy"
	"529-overloaded_error-ra60|error:529:overloaded_error|--retry-after=60|busy"
	"529-overloaded_error-ra61|error:529:overloaded_error|--retry-after=61|busy"
	"200-cut-after-message_start|cut||"
	"200-cut-in-first-text-block|cut|--cut-after=text_delta|"
	"200-cut-after-message_start-nonstream-dropped|cut|--nonstream=drop|"
)

if [ "${1:-}" = "--list" ]; then
	for c in "${CASES[@]}"; do echo "${c%%|*}"; done
	exit
fi

for tool in python3 unshare ip; do
	command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done
. scripts/claude-code-lib.sh
JOBS=${JOBS:-6}
OUT=${OUT:-$repo/.cache/claude-code-errors}
bin=$(cc_bin)
version=$("$bin" --version | cut -d' ' -f1)
echo "Claude Code $version; runs under $OUT" >&2
mkdir -p "$OUT"
echo "$version" >"$OUT/version"

selected=()
if [ $# -gt 0 ]; then
	for want in "$@"; do
		found=
		for c in "${CASES[@]}"; do [ "${c%%|*}" = "$want" ] && selected+=("$c") && found=1; done
		[ -n "$found" ] || { echo "unknown case $want (see --list)" >&2; exit 1; }
	done
else
	selected=("${CASES[@]}")
fi

run_case() {
	local name scenario opts kind limit msg dir args=() o
	IFS='|' read -r name scenario opts kind limit <<<"$1"
	case $kind in perm) msg=$PERM_MSG ;; busy) msg=$BUSY_MSG ;; *) msg= ;; esac
	dir=$OUT/$name
	rm -rf "$dir"
	mkdir -p "$dir"
	printf '%s\n' "$scenario" "$opts" "$msg" "${limit:-${CASE_TIMEOUT:-900}}" >"$dir/case"
	args=(--scenario "$scenario")
	[ -n "$msg" ] && args+=(--message "$msg")
	for o in $opts; do args+=("$o"); done
	echo "running $name" >&2
	CASE_TIMEOUT=${limit:-${CASE_TIMEOUT:-900}} cc_run "$dir" "$bin" "say hi" "${args[@]}" \
		>"$dir/runner.log" 2>&1 || echo "$name: runner failed, see $dir/runner.log" >&2
	echo "done $name ($(cat "$dir/duration" 2>/dev/null || echo ?) s)" >&2
}

running=0
for c in "${selected[@]}"; do
	run_case "$c" &
	running=$((running + 1))
	if [ "$running" -ge "$JOBS" ]; then
		wait -n || true
		running=$((running - 1))
	fi
done
wait

names=()
for c in "${selected[@]}"; do names+=("${c%%|*}"); done
python3 "$repo/scripts/claude-code-errors-table.py" "$OUT" "${names[@]}"
