#!/usr/bin/env bash
# Redraws the screenshots under docs/: the tray menu and a failover
# notification, taken from `ccbalancer demo` on a virtual X display with a
# real panel (xfce4-panel, which is both StatusNotifierWatcher and host) and a
# real notification daemon (dunst), all on a private session bus.
#
# Needs (Debian/Ubuntu):
#   apt-get install -y --no-install-recommends xvfb xauth x11-utils xdotool \
#     imagemagick dunst xfce4-panel dbus-bin dbus-daemon
# Usage: scripts/screenshot.sh   (from anywhere; writes docs/tray-menu.png and docs/notification.png)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

for tool in Xvfb xfce4-panel dunst import xdotool dbus-daemon; do
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

echo "building ccbalancer"
go build -o "$work/ccbalancer" .

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
convert -size 1100x520 gradient:'#6a8caf-#36506b' "$work/bg.png"
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

# The demo: a steady and a flaky simulated provider, and sample traffic.
"$work/ccbalancer" demo --listen 127.0.0.1:18080 >"$work/ccbalancer.log" 2>&1 &
pids+=($!)

# The first failover raises a notification; shoot dunst's window once it shows.
win=
for _ in $(seq 600); do
	win=$(xdotool search --onlyvisible --classname Dunst 2>/dev/null | head -1) && [ -n "$win" ] && break
	sleep 0.1
done
[ -n "$win" ] || { echo "no notification appeared" >&2; tail -20 "$work/ccbalancer.log" "$work/dunst.log" >&2; exit 1; }
sleep 0.5
import -window "$win" "$repo/docs/notification.png"
dunstctl close-all 2>/dev/null || true

# Open the tray menu (left click on the icon at the right end of the panel),
# then, by keyboard, Providers and the first provider's submenu.
# Submenus cascade to the left of the menu; the pointer then rests on the
# first provider so that its own submenu opens too.
xdotool mousemove 1084 16 click 1
sleep 1
xdotool key Down Down
sleep 0.3
xdotool key Right
sleep 1
xdotool mousemove 680 124
sleep 0.3
xdotool mousemove 700 125
sleep 2
import -window root "$work/menu-full.png"
convert "$work/menu-full.png" -crop 900x350+200+0 +repage "$repo/docs/tray-menu.png"
echo "wrote docs/tray-menu.png and docs/notification.png"
