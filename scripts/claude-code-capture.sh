#!/usr/bin/env bash
# Captures what the newest Claude Code CLI sends, as test fixtures, under
# docs/captures/ (bodies as NAME-N.json with Claude Code's long texts replaced
# by placeholders of the same shape, see scripts/claude-code-redact.py; headers
# in order as NAME-N.headers.json):
#   toolsearch-1, -2          the first request of a session; the fake answers
#                             it with a tool_use of the tool search tool found
#                             in its tools ("select:WebFetch"), so the CLI runs
#                             it and sends tool_reference blocks inside a
#                             tool_result in the next turn
#   toolsearch-keyword-1, -2  the same with a keyword query ("notebook jupyter")
#   fallback-1, -2            a stream cut after message_start, and the
#                             non-streaming request the CLI sends instead
#
# Needs: bash, python3, npm (to install the CLI once), unshare, ip.
# Usage: scripts/claude-code-capture.sh   (CLAUDE_CODE_VERSION, CLAUDE_BIN and
#        CASE_TIMEOUT as for scripts/claude-code-errors.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/claude-code-lib.sh

bin=$(cc_bin)
version=$("$bin" --version | cut -d' ' -f1)
export CASE_TIMEOUT=${CASE_TIMEOUT:-120}
out=.cache/claude-code-capture
rm -rf "$out" docs/captures
mkdir -p docs/captures

# capture NAME PROMPT FAKE-ARG... runs one session and writes its fixtures.
capture() {
	local name=$1 prompt=$2
	shift 2
	cc_run "$out/$name" "$bin" "$prompt" "$@"
	echo "$name: Claude Code $version exited $(cat "$out/$name/rc") after $(cat "$out/$name/duration") s," \
		"printing: $(cat "$out/$name/stdout")" >&2
	python3 scripts/claude-code-redact.py "$out/$name/requests.jsonl" docs/captures "$name" \
		"$prompt" "Searching for a tool." "tool search done" "fake answer" "non-streaming fallback answer"
}

capture toolsearch "find a tool that fetches web pages" --scenario toolsearch
capture toolsearch-keyword "find a tool that edits notebooks" --scenario toolsearch --tool-query "notebook jupyter"
capture fallback "say hi" --scenario cut
echo "$version" >docs/captures/VERSION
