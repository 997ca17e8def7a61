#!/usr/bin/env bash
# Runs the real Claude Code CLI through `ccbalancer serve` (built from this
# checkout) with two providers that are both fakes (scripts/claude-code-fake.py),
# and prints what Claude Code shows when every provider fails:
#   cooling  A answers 529 overloaded_error, B 503 overloaded_error (both cool down)
#   keys     A and B answer 401 authentication_error (both need attention)
# For each: Claude Code's exit code, output and run time, how many requests
# reached the proxy's providers, and the proxy's last log lines. Each case runs
# alone in a private network namespace, as in scripts/claude-code-errors.sh.
#
# Needs: go, bash, python3, npm (to install the CLI once), unshare, ip.
# Usage: scripts/claude-code-via-proxy.sh [cooling|keys]...   (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/claude-code-lib.sh
repo=$(pwd)
bin=$(realpath "$(cc_bin)")
mkdir -p .cache
go build -o .cache/ccbalancer .
out=$repo/.cache/claude-code-via-proxy

# one DIR UPSTREAM-A UPSTREAM-B runs inside the namespace.
one() {
	local dir=$1 sa=$2 sb=$3 fake=$repo/scripts/claude-code-fake.py i
	ip link set lo up
	rm -rf "$dir"
	mkdir -p "$dir"
	python3 "$fake" --scenario "$sa" --message "upstream A refuses" --log "$dir/a.jsonl" --port-file "$dir/pa" 2>"$dir/a.err" &
	local fa=$!
	python3 "$fake" --scenario "$sb" --message "upstream B refuses" --log "$dir/b.jsonl" --port-file "$dir/pb" 2>"$dir/b.err" &
	local fb=$!
	for i in $(seq 100); do [ -f "$dir/pa" ] && [ -f "$dir/pb" ] && break; sleep 0.05; done
	cat >"$dir/providers.yaml" <<-YAML
		providers:
		  - { name: "A", type: "anthropic", base_url: "http://127.0.0.1:$(cat "$dir/pa")", auth_type: "api_key", auth_value: "key-a" }
		  - { name: "B", type: "anthropic", base_url: "http://127.0.0.1:$(cat "$dir/pb")", auth_type: "api_key", auth_value: "key-b" }
		model_routes:
		  "*":
		    - { provider: "A" }
		    - { provider: "B" }
		settings:
		  port: 18080
		  probe_interval: 3600
	YAML
	HOME=$dir "$repo/.cache/ccbalancer" serve --config "$dir/providers.yaml" >"$dir/proxy.log" 2>&1 &
	local pp=$!
	for i in $(seq 100); do (echo >/dev/tcp/127.0.0.1/18080) 2>/dev/null && break; sleep 0.05; done
	local home work start rc=0
	home=$(mktemp -d) work=$(mktemp -d)
	start=$(date +%s.%N)
	(cd "$work" && env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$home" TERM=dumb LANG=C.UTF-8 \
		ANTHROPIC_BASE_URL=http://127.0.0.1:18080 ANTHROPIC_API_KEY=dummy \
		CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_TELEMETRY=1 \
		timeout -k 5 600 "$bin" -p "say hi" </dev/null >"$dir/stdout" 2>"$dir/stderr") || rc=$?
	echo "$rc" >"$dir/rc"
	python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 1))" "$start" "$(date +%s.%N)" >"$dir/duration"
	kill "$pp" "$fa" "$fb" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$home" "$work"
}

cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(cooling keys)
for c in "${cases[@]}"; do
	case $c in
	cooling) a=error:529:overloaded_error b=error:503:overloaded_error ;;
	keys) a=error:401:authentication_error b=error:401:authentication_error ;;
	*) echo "unknown case $c (cooling, keys)" >&2; exit 2 ;;
	esac
	unshare -rn bash -c "$(declare -f one); repo=$repo bin=$bin; one \"\$@\"" one "$out/$c" "$a" "$b"
	d=$out/$c
	echo "## $c: Claude Code exited $(cat "$d/rc") after $(cat "$d/duration") s;" \
		"requests to A: $(wc -l <"$d/a.jsonl"), to B: $(wc -l <"$d/b.jsonl")"
	echo '```'
	cat "$d/stdout" "$d/stderr"
	echo '```'
	echo "proxy log, last lines:"
	echo '```'
	grep -v "shutting down\|proxy stopped" "$d/proxy.log" | tail -3
	echo '```'
done
