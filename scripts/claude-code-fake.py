#!/usr/bin/env python3
"""A scripted fake of the Anthropic Messages API, for watching the Claude Code CLI.

It answers every POST /v1/messages by one scenario and logs each request
(arrival time, method, path, headers, body) as one JSON line, so that a run
shows how many tries the client made, when, and with what.

Scenarios (--scenario):
  ok                       a short streamed (or non-streamed) text answer
  error:STATUS:TYPE        an error answer with that status and error type;
                           --message, --retry-after (seconds) and
                           --should-retry (the x-should-retry header) shape it
  cut                      streams: 200, message_start (and with
                           --cut-after=text_delta a text block's start and
                           one delta), then the connection is closed;
                           non-streaming requests get a normal answer whose
                           text is "non-streaming fallback answer", so a
                           fallback shows in the output (--nonstream=drop:
                           their connection is closed before any byte)
  toolsearch               the first request is answered with a tool_use of
                           the tool search tool found in its tools, asking
                           for --tool-query; later requests get a text answer

Other requests (HEAD /, anything else) get 200 with an empty body.
Only the Python standard library is used.
"""

import argparse
import json
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STREAM_TEXT = "fake answer"
FALLBACK_TEXT = "non-streaming fallback answer"
FINAL_TEXT = "tool search done"


def sse(event, data):
    return ("event: %s\ndata: %s\n\n" % (event, json.dumps(data, separators=(",", ":")))).encode()


def message_start(model, msg_id):
    return sse("message_start", {
        "type": "message_start",
        "message": {
            "id": msg_id, "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 10, "cache_creation_input_tokens": 0,
                      "cache_read_input_tokens": 0, "output_tokens": 1},
        },
    })


def text_stream(model, msg_id, text):
    return b"".join([
        message_start(model, msg_id),
        sse("content_block_start", {"type": "content_block_start", "index": 0,
                                    "content_block": {"type": "text", "text": ""}}),
        sse("ping", {"type": "ping"}),
        sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                    "delta": {"type": "text_delta", "text": text}}),
        sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
        sse("message_delta", {"type": "message_delta",
                              "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                              "usage": {"output_tokens": 5}}),
        sse("message_stop", {"type": "message_stop"}),
    ])


def tool_use_stream(model, msg_id, tool_id, name, tool_input):
    partial = json.dumps(tool_input, separators=(",", ":"))
    half = len(partial) // 2
    return b"".join([
        message_start(model, msg_id),
        sse("content_block_start", {"type": "content_block_start", "index": 0,
                                    "content_block": {"type": "text", "text": ""}}),
        sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                    "delta": {"type": "text_delta",
                                              "text": "Searching for a tool."}}),
        sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
        sse("content_block_start", {"type": "content_block_start", "index": 1,
                                    "content_block": {"type": "tool_use", "id": tool_id,
                                                      "name": name, "input": {}}}),
        sse("content_block_delta", {"type": "content_block_delta", "index": 1,
                                    "delta": {"type": "input_json_delta",
                                              "partial_json": partial[:half]}}),
        sse("content_block_delta", {"type": "content_block_delta", "index": 1,
                                    "delta": {"type": "input_json_delta",
                                              "partial_json": partial[half:]}}),
        sse("content_block_stop", {"type": "content_block_stop", "index": 1}),
        sse("message_delta", {"type": "message_delta",
                              "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                              "usage": {"output_tokens": 30}}),
        sse("message_stop", {"type": "message_stop"}),
    ])


def message_json(model, msg_id, text):
    return json.dumps({
        "id": msg_id, "type": "message", "role": "assistant", "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": 10, "cache_creation_input_tokens": 0,
                  "cache_read_input_tokens": 0, "output_tokens": 5},
    }).encode()


def find_tool_search(tools, query):
    """Returns (name, input) for the tool search tool in a request's tools,
    the input asking for query."""
    for tool in tools or []:
        name = tool.get("name", "")
        if "search" in name.lower() and "tool" in name.lower():
            props = (tool.get("input_schema") or {}).get("properties") or {}
            args = {}
            for key, schema in props.items():
                kind = schema.get("type")
                if key == "query" or kind == "string":
                    args[key] = query if key == "query" else "x"
                elif kind in ("integer", "number") and key in ((tool.get("input_schema") or {}).get("required") or []):
                    args[key] = 5
            return name, args
    return None, None


class Fake(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-anthropic"
    sys_version = ""

    def log_message(self, fmt, *args):  # the JSON log replaces the default one
        pass

    def record(self, body):
        srv = self.server
        with srv.lock:
            srv.count += 1
            n = srv.count
            entry = {
                "n": n,
                "t": round(time.time() - srv.t0, 3),
                "method": self.command,
                "path": self.path,
                "headers": [[k, v] for k, v in self.headers.items()],
            }
            try:
                entry["body"] = json.loads(body) if body else None
            except ValueError:
                entry["body_raw"] = body.decode("utf-8", "replace")
            srv.log.write(json.dumps(entry) + "\n")
            srv.log.flush()
        return n, entry.get("body")

    def read_body(self):
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def do_HEAD(self):
        self.record(b"")
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def do_GET(self):
        self.do_HEAD()

    def do_POST(self):
        body = self.read_body()
        n, req = self.record(body)
        if not self.path.startswith("/v1/messages") or "count_tokens" in self.path:
            self.send_json(200, {"input_tokens": 10} if "count_tokens" in self.path else {})
            return
        req = req or {}
        streaming = req.get("stream") is True
        model = req.get("model", "claude")
        msg_id = "msg_fake%04d" % n
        a = self.server.args
        sc = a.scenario
        if sc == "ok":
            self.answer(streaming, model, msg_id, STREAM_TEXT)
        elif sc == "cut":
            if not streaming:
                if a.nonstream == "drop":
                    self.drop()
                else:
                    self.send_json_bytes(200, message_json(model, msg_id, FALLBACK_TEXT))
                return
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("cache-control", "no-cache")
            self.send_header("connection", "close")
            self.end_headers()
            events = [message_start(model, msg_id)]
            if a.cut_after == "text_delta":
                events += [
                    sse("content_block_start", {"type": "content_block_start", "index": 0,
                                                "content_block": {"type": "text", "text": ""}}),
                    sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                "delta": {"type": "text_delta", "text": "partial "}}),
                ]
            self.wfile.write(b"".join(events))
            self.wfile.flush()
            self.drop()
        elif sc == "toolsearch":
            with self.server.lock:
                first = not self.server.tool_called
                name, args = find_tool_search(req.get("tools"), a.tool_query)
                if first and name and streaming:
                    self.server.tool_called = True
            if first and name and streaming:
                self.send_sse(200, tool_use_stream(model, msg_id, "toolu_fake0001", name, args))
            else:
                self.answer(streaming, model, msg_id, FINAL_TEXT)
        elif sc.startswith("error:"):
            _, status, etype = sc.split(":", 2)
            headers = []
            if a.retry_after is not None:
                headers.append(("retry-after", a.retry_after))
            if a.should_retry is not None:
                headers.append(("x-should-retry", a.should_retry))
            headers.append(("request-id", "req_fake%04d" % n))
            body = {"type": "error", "error": {"type": etype, "message": a.message},
                    "request_id": "req_fake%04d" % n}
            self.send_json_bytes(int(status), json.dumps(body).encode(), headers)
        else:
            self.send_json(500, {"type": "error", "error": {"type": "api_error",
                                                             "message": "unknown scenario " + sc}})

    def drop(self):
        """Closes the connection without another byte."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def answer(self, streaming, model, msg_id, text):
        if streaming:
            self.send_sse(200, text_stream(model, msg_id, text))
        else:
            self.send_json_bytes(200, message_json(model, msg_id, text))

    def send_sse(self, status, payload):
        self.send_response(status)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def send_json(self, status, obj):
        self.send_json_bytes(status, json.dumps(obj).encode())

    def send_json_bytes(self, status, payload, headers=()):
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(payload)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scenario", required=True)
    p.add_argument("--message", default="fake error")
    p.add_argument("--retry-after")
    p.add_argument("--should-retry")
    p.add_argument("--tool-query", default="select:WebFetch")
    p.add_argument("--cut-after", choices=["message_start", "text_delta"], default="message_start")
    p.add_argument("--nonstream", choices=["answer", "drop"], default="answer")
    p.add_argument("--log", required=True, help="JSON lines, one per request")
    p.add_argument("--port-file", required=True, help="written with the port once listening")
    a = p.parse_args()

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Fake)
    srv.daemon_threads = True
    srv.args = a
    srv.lock = threading.Lock()
    srv.count = 0
    srv.tool_called = False
    srv.t0 = time.time()
    srv.log = open(a.log, "a")
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))

    os.rename(a.port_file + ".tmp", a.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
