#!/usr/bin/env bash
# Redraws the screenshots under docs/ on a virtual X display with a real
# panel (xfce4-panel, which is both StatusNotifierWatcher and host) and a real
# notification daemon (dunst), all on a private session bus:
#   docs/icons.png           the icon states at 24 px on a light and a dark panel
#   docs/tray-not-set-up.png the menu of a first run, before any configuration
#   docs/tray-menu.png       the menu while a provider needs attention
#   docs/notification.png    the notification that says so
#
# Needs (Debian/Ubuntu):
#   apt-get install -y --no-install-recommends xvfb xauth x11-utils xdotool \
#     imagemagick dunst xfce4-panel dbus-bin dbus-daemon curl fonts-dejavu-core
# Usage: scripts/screenshot.sh   (from anywhere)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

for tool in Xvfb xfce4-panel dunst dunstctl import xdotool dbus-daemon curl; do
	command -v "$tool" >/dev/null || { echo "missing $tool (see the header of $0)" >&2; exit 1; }
done
xfconfd=$(ls /usr/lib/*/xfce4/xfconf/xfconfd 2>/dev/null | head -1)
[ -x "$xfconfd" ] || { echo "missing xfconfd (xfce4-panel pulls it in)" >&2; exit 1; }

work=$(mktemp -d -t ccbalancer-shot.XXXXXX)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	chmod -R u+w "$work" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# ImageMagick's own convert, wherever another one comes first on PATH.
im=/usr/bin/convert
[ -x "$im" ] || im=convert

echo "building ccbalancer"
go build -o "$work/ccbalancer" .
# A stand-in provider that rejects every key (HTTP 401, Anthropic's error body),
# and one that answers.
mkdir -p "$work/fakeup"
cat >"$work/fakeup/main.go" <<'GO'
package main

import (
	"io"
	"net/http"
	"os"
)

func main() {
	status := os.Args[2]
	http.ListenAndServe(os.Args[1], http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		if status == "401" {
			w.WriteHeader(401)
			io.WriteString(w, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`)
			return
		}
		io.WriteString(w, `{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":1}}`)
	}))
}
GO
(cd "$work/fakeup" && go mod init fakeup >/dev/null 2>&1 && go build -o "$work/fakeup-bin" .)

# Everything below runs in a throwaway home; Go's caches stay where they are.
export GOPATH GOMODCACHE GOCACHE
GOPATH=$(go env GOPATH) GOMODCACHE=$(go env GOMODCACHE) GOCACHE=$(go env GOCACHE)
export HOME=$work/home XDG_CONFIG_HOME=$work/home/.config XDG_STATE_HOME=$work/home/.local/state
export XDG_RUNTIME_DIR=$work/run NO_AT_BRIDGE=1 GTK_THEME=Adwaita
mkdir -p "$XDG_CONFIG_HOME" "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
unset WAYLAND_DISPLAY

# A virtual display.
export DISPLAY=:99
Xvfb "$DISPLAY" -screen 0 1100x520x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do xdpyinfo >/dev/null 2>&1 && break; sleep 0.1; done
"$im" -size 1100x520 gradient:'#6a8caf-#36506b' "$work/bg.png"
display -window root "$work/bg.png" 2>/dev/null || true  # sets the background, then exits 1

# A private session bus with no service directory: everything is started here.
cat >"$work/bus.conf" <<'XML'
<busconfig><type>session</type><listen>unix:tmpdir=/tmp</listen><auth>EXTERNAL</auth>
  <policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy>
</busconfig>
XML
exec 3< <(dbus-daemon --config-file="$work/bus.conf" --nofork --nopidfile --print-address=1 2>/dev/null)
pids+=($!)
read -r DBUS_SESSION_BUS_ADDRESS <&3
export DBUS_SESSION_BUS_ADDRESS

# One top panel: an expanding separator, then the notification area.
mkdir -p "$XDG_CONFIG_HOME/xfce4/xfconf/xfce-perchannel-xml"
cat >"$XDG_CONFIG_HOME/xfce4/xfconf/xfce-perchannel-xml/xfce4-panel.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<channel name="xfce4-panel" version="1.0">
  <property name="configver" type="int" value="2"/>
  <property name="panels" type="array">
    <value type="int" value="1"/>
    <property name="panel-1" type="empty">
      <property name="position" type="string" value="p=6;x=0;y=0"/>
      <property name="length" type="uint" value="100"/>
      <property name="position-locked" type="bool" value="true"/>
      <property name="size" type="uint" value="32"/>
      <property name="icon-size" type="uint" value="24"/>
      <property name="plugin-ids" type="array">
        <value type="int" value="1"/>
        <value type="int" value="2"/>
      </property>
    </property>
  </property>
  <property name="plugins" type="empty">
    <property name="plugin-1" type="string" value="separator">
      <property name="expand" type="bool" value="true"/>
      <property name="style" type="uint" value="0"/>
    </property>
    <property name="plugin-2" type="string" value="systray">
      <property name="square-icons" type="bool" value="true"/>
    </property>
  </property>
</channel>
XML
"$xfconfd" >"$work/xfconfd.log" 2>&1 &
pids+=($!)
xfce4-panel --disable-wm-check >"$work/panel.log" 2>&1 &
pids+=($!)

# Notifications at the top right, below the panel.
mkdir -p "$XDG_CONFIG_HOME/dunst"
cat >"$XDG_CONFIG_HOME/dunst/dunstrc" <<'INI'
[global]
    origin = top-right
    offset = 10x44
    width = 430
    font = DejaVu Sans 10
    frame_width = 1
    frame_color = "#888888"
    icon_position = left
    max_icon_size = 48
    format = "<b>%s</b>\n%b"
[urgency_normal]
    background = "#2b2b2b"
    foreground = "#f0f0f0"
    timeout = 0
INI
dunst >"$work/dunst.log" 2>&1 &
dunst_pid=$!
pids+=($dunst_pid)

busname_owned() {
	dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
		org.freedesktop.DBus.NameHasOwner "string:$1" 2>/dev/null | grep -q 'boolean true'
}
for _ in $(seq 100); do busname_owned org.kde.StatusNotifierWatcher && break; sleep 0.1; done
busname_owned org.kde.StatusNotifierWatcher || { echo "the panel did not start:" >&2; cat "$work/panel.log" >&2; exit 1; }
for _ in $(seq 100); do busname_owned org.freedesktop.Notifications && break; sleep 0.1; done

# The icon states at 24 px, as a panel shows them, on a light and a dark panel.
row() { # background, output
	local args=()
	for s in healthy degraded down attention stopped; do
		args+=( \( -size 112x40 "xc:$1" assets/$s-24.png -gravity center -composite \) )
	done
	"$im" "${args[@]}" +append "$2"
}
row '#ececec' "$work/light.png"
row '#2b2b2b' "$work/dark.png"
labels=()
for s in healthy degraded down attention stopped; do
	labels+=( \( -size 112x22 xc:white -font DejaVu-Sans -pointsize 12 -fill '#333' -gravity center -annotate +0+0 "$s" \) )
done
"$im" "${labels[@]}" +append "$work/labels.png"
"$im" "$work/labels.png" "$work/light.png" "$work/dark.png" -append "$repo/docs/icons.png"

wait_window() { # class name: waits for a visible window of that class
	for _ in $(seq 300); do
		win=$(xdotool search --onlyvisible --classname "$1" 2>/dev/null | head -1) && [ -n "$win" ] && return 0
		sleep 0.1
	done
	return 1
}
open_menu() { # opens the tray menu and shoots the panel's right-hand corner
	xdotool mousemove 1084 16 click 1
	sleep 1.5
	import -window root "$work/full.png"
	"$im" "$work/full.png" -crop 600x400+500+0 +repage "$1"
	xdotool key Escape
	sleep 0.5
}

# A first run: no configuration anywhere.
mkdir -p "$work/cwd"
(cd "$work/cwd" && exec "$work/ccbalancer") >"$work/first-run.log" 2>&1 &
pids+=($!)
wait_window Dunst || { echo "no notification at the first run" >&2; tail -20 "$work/first-run.log" >&2; exit 1; }
sleep 0.5
dunstctl close-all
open_menu "$repo/docs/tray-not-set-up.png"
"$work/ccbalancer" stop

# A provider whose key is rejected: it needs attention.
"$work/fakeup-bin" 127.0.0.1:18091 401 & pids+=($!)
"$work/fakeup-bin" 127.0.0.1:18092 200 & pids+=($!)
mkdir -p "$XDG_CONFIG_HOME/ccbalancer"
cat >"$XDG_CONFIG_HOME/ccbalancer/providers.yaml" <<'YAML'
providers:
  - {name: Anthropic, type: anthropic, base_url: "http://127.0.0.1:18091", auth_type: api_key, auth_value: "sk-rejected"}
  - {name: Relay, type: anthropic, base_url: "http://127.0.0.1:18092", auth_type: api_key, auth_value: "sk-relay"}
model_routes:
  "*sonnet*":
    - {provider: Anthropic, model: passthrough, priority: 1}
    - {provider: Relay, model: passthrough, priority: 2}
settings: {port: 18080, log_color: false}
YAML
chmod 600 "$XDG_CONFIG_HOME/ccbalancer/providers.yaml"
(cd "$work/cwd" && exec "$work/ccbalancer") >"$work/attention.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:18080/ && break; sleep 0.1; done
curl -s -o /dev/null http://127.0.0.1:18080/v1/messages -H 'content-type: application/json' -H 'anthropic-version: 2023-06-01' \
	-d '{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}'
wait_window Dunst || { echo "no needs-attention notification" >&2; tail -20 "$work/attention.log" >&2; exit 1; }
sleep 0.5
import -window "$win" "$repo/docs/notification.png"
dunstctl close-all
open_menu "$repo/docs/tray-menu.png"
"$work/ccbalancer" stop
echo "wrote docs/icons.png, docs/tray-not-set-up.png, docs/tray-menu.png and docs/notification.png"
