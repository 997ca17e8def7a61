package osservice

import (
	"log/slog"
	"net"
	"os"
)

// notifySystemd sends state (e.g. "READY=1") to systemd's notification
// socket, named by $NOTIFY_SOCKET when systemd started this process (see
// sd_notify(3)); without it there is nothing to tell. A leading '@' names a
// socket in the abstract namespace.
func notifySystemd(logger *slog.Logger, state string) {
	socket := os.Getenv("NOTIFY_SOCKET")
	if socket == "" {
		return
	}
	if socket[0] == '@' {
		socket = "\x00" + socket[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err == nil {
		_, err = conn.Write([]byte(state))
		conn.Close()
	}
	if err != nil {
		logger.Warn("cannot notify systemd", slog.String("state", state), slog.Any("err", err))
	}
}
