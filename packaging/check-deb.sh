#!/usr/bin/env bash
# Installs the amd64 .deb that packaging/build.sh made, uses the installed
# program, and removes the package again, failing on anything that is not as
# it should be. Needs root, dpkg, dbus-daemon (dbus-run-session) and
# gnome-keyring; run it on a machine where ccbalancer is not installed.
#   1. dpkg -i; /usr/bin/ccbalancer version names the package's version and this commit;
#   2. check of the packaged example configuration fails without its keys, naming the fix,
#      and passes once they are stored (the keyring on a private session bus) and set;
#   3. dpkg -r leaves none of the package's files or directories behind.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() {
	echo "check-deb: $*" >&2
	exit 1
}

debs=(dist/ccbalancer_*_amd64.deb)
[[ ${#debs[@]} == 1 && -f ${debs[0]} ]] || fail "want one dist/ccbalancer_*_amd64.deb (run packaging/build.sh), found ${debs[*]}"
deb=${debs[0]}
dpkg-query -W ccbalancer >/dev/null 2>&1 && fail "ccbalancer is installed already: remove it first"
version=$(dpkg-deb -f "$deb" Version)

dpkg -i "$deb"
trap 'dpkg -r ccbalancer >/dev/null 2>&1 || true' EXIT
mapfile -t files < <(dpkg -L ccbalancer | grep -v '^/\.$')

out=$(/usr/bin/ccbalancer version)
echo "$out"
want="ccbalancer $version (commit $(git rev-parse HEAD),"
[[ $out == "$want"* ]] || fail "version printed \"$out\", want it to start with \"$want\""

example=/usr/share/doc/ccbalancer/providers.example.yaml
[[ -f $example ]] || fail "$example is not installed"
# The keyring: GNOME Keyring, unlocked, with its files in a temp dir, on a
# session bus of its own that starts no services by itself (the machine's
# session services would start a keyring of the machine's).
work=$(mktemp -d)
trap 'dpkg -r ccbalancer >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
cat >"$work/bus.conf" <<'EOF'
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy>
</busconfig>
EOF
cat >"$work/in-session.sh" <<'EOF'
set -euo pipefail
example=$1
home=$(mktemp -d)
mkdir -m 700 "$home/run"
printf 'check-deb' | HOME=$home XDG_RUNTIME_DIR=$home/run XDG_DATA_HOME=$home/data \
	gnome-keyring-daemon --foreground --unlock --components=secrets >/dev/null 2>&1 &
keyring=$!
trap 'kill $keyring; rm -rf "$home"' EXIT

# The daemon answers once it has made the login keyring.
for _ in $(seq 100); do
	ccbalancer secret list >/dev/null 2>&1 && break
	sleep 0.1
done
ccbalancer secret list

set +e
out=$(ccbalancer check --config "$example" 2>&1)
code=$?
set -e
echo "$out"
[[ $code == 1 ]] || { echo "check without keys exited $code, want 1" >&2; exit 1; }
for want in "store it with \`ccbalancer secret set anthropic\`" "environment variable OPENROUTER_API_KEY is not set"; do
	[[ $out == *"$want"* ]] || { echo "check without keys does not say: $want" >&2; exit 1; }
done

printf 'sk-ant-check-deb' | ccbalancer secret set anthropic
ccbalancer secret list | grep -qx anthropic || { echo "secret set did not store anthropic" >&2; exit 1; }
out=$(OPENROUTER_API_KEY=sk-or-check-deb ccbalancer check --config "$example" 2>&1) || {
	echo "$out"
	echo "check with the keys stored failed" >&2
	exit 1
}
echo "$out"
[[ $out == *"providers.example.yaml: ok"* ]] || { echo "check did not say ok" >&2; exit 1; }
# The example holds no key, so its mode 0644 is no problem.
[[ $out != *"written in plain text"* ]] || { echo "check took a value of the example for a key" >&2; exit 1; }
[[ $out != *sk-ant-check-deb* && $out != *sk-or-check-deb* ]] || { echo "check printed a key" >&2; exit 1; }
EOF
dbus-run-session --config-file="$work/bus.conf" -- bash "$work/in-session.sh" "$example" ||
	fail "the installed program does not check its example configuration as it should"

dpkg -r ccbalancer
trap 'rm -rf "$work"' EXIT
left=()
for f in "${files[@]}"; do
	# Directories other packages share (/usr/share/icons/hicolor/...) stay; the package's own go.
	if [[ -e $f && ! -d $f ]] || [[ -d $f && $f == *ccbalancer* ]]; then
		left+=("$f")
	fi
done
((${#left[@]} == 0)) || fail "dpkg -r left: ${left[*]}"
dpkg-query -W ccbalancer >/dev/null 2>&1 && fail "dpkg still lists ccbalancer"
echo "check-deb: installed, used and removed ${#files[@]} paths of $deb"
