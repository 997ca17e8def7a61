#!/usr/bin/env python3
"""Prints the markdown table of scripts/claude-code-errors.sh runs.

Usage: claude-code-errors-table.py OUT CASE...
Each OUT/CASE holds: case (scenario, fake options, message), rc, duration,
stdout, stderr and requests.jsonl (one JSON line per request the fake got).
"""

import json
import os
import sys


def read(path, default=""):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return default


def cell(text):
    text = text.strip()
    if not text:
        return "(nothing)"
    text = text.replace("|", "\\|").replace("\n", "<br>")
    return "`" + text + "`" if "`" not in text and "<br>" not in text else text


def option(opts, name):
    for o in opts.split():
        if o.startswith("--" + name + "="):
            return o.split("=", 1)[1]
    return None


def summarise(out, name):
    d = os.path.join(out, name)
    scenario, opts, _msg = (read(os.path.join(d, "case")).split("\n") + ["", "", ""])[:3]
    reqs = []
    for line in read(os.path.join(d, "requests.jsonl")).splitlines():
        e = json.loads(line)
        if e["method"] == "POST" and e["path"].startswith("/v1/messages") and "count_tokens" not in e["path"]:
            reqs.append(e)
    times = [e["t"] for e in reqs]
    gaps = [round(b - a, 1) for a, b in zip(times, times[1:])]
    nonstream = [e["n"] for e in reqs if isinstance(e.get("body"), dict) and e["body"].get("stream") is not True]
    retry_counts = []
    for e in reqs:
        for k, v in e["headers"]:
            if k.lower() == "x-stainless-retry-count":
                retry_counts.append(v)
    if scenario.startswith("error:"):
        _, status, etype = scenario.split(":", 2)
    else:
        status, etype = "200", "-"
    rc = read(os.path.join(d, "rc"), "?").strip()
    ra = option(opts, "retry-after")
    xsr = option(opts, "should-retry")
    if ra is None:
        honoured = "-"
    elif len(gaps) == 0:
        honoured = "no retry" if rc != "124" else "waiting when killed"
    else:
        want = float(ra)
        ok = [g for g in gaps if g >= 0.9 * want]
        honoured = "yes" if len(ok) == len(gaps) else ("no" if not ok else "%d of %d gaps" % (len(ok), len(gaps)))
    return {
        "case": name,
        "status": status,
        "type": etype,
        "headers": ", ".join(x for x in [("retry-after: " + ra) if ra else "",
                                           ("x-should-retry: " + xsr) if xsr else ""] if x) or "-",
        "rc": rc + (" (killed at its limit)" if rc == "124" else ""),
        "duration": read(os.path.join(d, "duration"), "?").strip(),
        "stdout": read(os.path.join(d, "stdout")),
        "stderr": read(os.path.join(d, "stderr")),
        "tries": len(reqs),
        "span": round(times[-1] - times[0], 1) if times else 0,
        "gaps": gaps,
        "honoured": honoured,
        "nonstream": nonstream,
        "retry_counts": retry_counts,
    }


def main():
    out, names = sys.argv[1], sys.argv[2:]
    version = read(os.path.join(out, "version")).strip()
    print("Claude Code %s, `-p` mode, streaming request; one row per run.\n" % version)
    print("| case | status | error type | headers | exit | stdout | stderr | tries | first→last request (s) | gaps (s) | retry-after honoured | non-streaming tries | CLI ran (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        s = summarise(out, name)
        gaps = ", ".join("%g" % g for g in s["gaps"]) or "-"
        nonstream = ("%d (request %s)" % (len(s["nonstream"]), ", ".join(map(str, s["nonstream"])))
                     if s["nonstream"] else "0")
        print("| %s | %s | %s | %s | %s | %s | %s | %d | %s | %s | %s | %s | %s |" % (
            s["case"], s["status"], s["type"], s["headers"], s["rc"], cell(s["stdout"]), cell(s["stderr"]),
            s["tries"], s["span"], gaps, s["honoured"], nonstream, s["duration"]))


if __name__ == "__main__":
    main()
