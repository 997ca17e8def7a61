# Shared by scripts/claude-code-errors.sh and scripts/claude-code-capture.sh:
# installs the Claude Code CLI and runs it once in -p mode against
# scripts/claude-code-fake.py, alone in a private network namespace.
# Source it; it defines cc_bin and cc_run.

cc_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# cc_bin prints the path of a claude binary, installing
# @anthropic-ai/claude-code@$CLAUDE_CODE_VERSION (default: the newest) with npm
# under .cache/claude-code first when it is missing or another version.
# CLAUDE_BIN, when set, is used as it is.
cc_bin() {
	if [ -n "${CLAUDE_BIN:-}" ]; then
		echo "$CLAUDE_BIN"
		return
	fi
	local prefix=$cc_repo/.cache/claude-code want have bin
	want=${CLAUDE_CODE_VERSION:-latest}
	if [ "$want" = latest ]; then want=$(npm view @anthropic-ai/claude-code version); fi
	bin=$prefix/node_modules/@anthropic-ai/claude-code/bin/claude.exe
	have=$("$bin" --version 2>/dev/null | cut -d' ' -f1 || true)
	if [ "$have" != "$want" ]; then
		echo "installing @anthropic-ai/claude-code@$want into $prefix" >&2
		mkdir -p "$prefix"
		npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "@anthropic-ai/claude-code@$want" >&2
	fi
	echo "$bin"
}

# cc_run DIR BIN PROMPT FAKE-ARG... runs the fake with FAKE-ARGs and then
# `BIN -p PROMPT` against it, in a new network namespace (unshare -rn) with
# only lo up, a clean HOME and working directory, ANTHROPIC_API_KEY=dummy,
# CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 and DISABLE_TELEMETRY=1, bounded
# by CASE_TIMEOUT seconds (default 900). It leaves in DIR: requests.jsonl (the
# fake's log), stdout, stderr, rc (the CLI's exit code), duration (seconds the
# CLI ran) and fake.err.
cc_run() {
	local dir=$1 bin=$2 prompt=$3
	shift 3
	mkdir -p "$dir"
	dir=$(realpath "$dir") bin=$(realpath "$bin")
	CASE_TIMEOUT=${CASE_TIMEOUT:-900} unshare -rn bash -c "$(declare -f cc_inner); cc_inner \"\$@\"" \
		cc_inner "$cc_repo/scripts/claude-code-fake.py" "$dir" "$bin" "$prompt" "$@"
}

# cc_inner runs inside the namespace; see cc_run.
cc_inner() {
	local fake=$1 dir=$2 bin=$3 prompt=$4
	shift 4
	ip link set lo up
	rm -f "$dir/port" "$dir/requests.jsonl"
	python3 "$fake" --log "$dir/requests.jsonl" --port-file "$dir/port" "$@" 2>"$dir/fake.err" &
	local fpid=$! i
	for i in $(seq 100); do [ -f "$dir/port" ] && break; sleep 0.05; done
	if [ ! -f "$dir/port" ]; then
		echo "the fake did not start: $(cat "$dir/fake.err")" >&2
		kill "$fpid" 2>/dev/null
		return 1
	fi
	local home work start end rc=0
	home=$(mktemp -d) work=$(mktemp -d)
	start=$(date +%s.%N)
	(cd "$work" && env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$home" TERM=dumb LANG=C.UTF-8 \
		ANTHROPIC_BASE_URL="http://127.0.0.1:$(cat "$dir/port")" ANTHROPIC_API_KEY=dummy \
		CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_TELEMETRY=1 \
		timeout -k 5 "$CASE_TIMEOUT" "$bin" -p "$prompt" </dev/null >"$dir/stdout" 2>"$dir/stderr") || rc=$?
	end=$(date +%s.%N)
	echo "$rc" >"$dir/rc"
	python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 2))" "$start" "$end" >"$dir/duration"
	kill "$fpid" 2>/dev/null || true
	wait "$fpid" 2>/dev/null || true
	rm -rf "$home" "$work" "$dir/port"
}
