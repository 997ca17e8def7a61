#!/usr/bin/env python3
"""Turns requests logged by claude-code-fake.py into test fixtures.

Usage: claude-code-redact.py REQUESTS.JSONL OUTDIR PREFIX [KEEP-TEXT...]

For each POST /v1/messages in REQUESTS.JSONL it writes OUTDIR/PREFIX-N.json
(the body) and OUTDIR/PREFIX-N.headers.json (the headers, in order, as
[name, value] pairs). Claude Code's own long texts are replaced by short
placeholders that keep the shape: the text of system blocks, tool
descriptions and schema descriptions, and text in messages (system
reminders, the environment note). A text listed in KEEP-TEXT (the prompt,
the fake's own answers), the billing line and message texts of at most 100
characters stay verbatim. Every key, its
order, every block type and every other value are kept.
It prints one line per file with the block types and top-level keys seen.
"""

import json
import os
import re
import sys

BILLING = "x-anthropic-billing-header:"
# Texts in messages up to this length are the CLI's short notes ("Tool
# loaded."), not prompt texts, and stay verbatim.
SHORT = 100


def placeholder(text, what):
    """A short stand-in for text, keeping a leading <tag> and its closing tag."""
    m = re.match(r"^(\s*<([A-Za-z_-]+)>)", text)
    note = "[%s, %d chars]" % (what, len(text))
    if m and text.rstrip().endswith("</%s>" % m.group(2)):
        return "%s\n%s\n</%s>%s" % (m.group(1), note, m.group(2), text[len(text.rstrip()):])
    if m:
        return "%s\n%s" % (m.group(1), note)
    return note


def redact_schema(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "description" and isinstance(v, str):
                node[k] = "[schema description, %d chars]" % len(v)
            else:
                redact_schema(v)
    elif isinstance(node, list):
        for v in node:
            redact_schema(v)


def redact_blocks(blocks, keep, what, short=0):
    """Replaces the texts in blocks (a string or a list of blocks) by
    placeholders, except those in keep, the billing line and those of at most
    short characters."""
    if isinstance(blocks, str):
        return blocks if blocks in keep or len(blocks) <= short else placeholder(blocks, what)
    for b in blocks:
        if not isinstance(b, dict):
            continue
        if b.get("type") == "text" and isinstance(b.get("text"), str):
            t = b["text"]
            if t not in keep and len(t) > short and not t.startswith(BILLING):
                b["text"] = placeholder(t, what)
        if b.get("type") == "tool_result" and "content" in b:
            b["content"] = redact_blocks(b["content"], keep, "tool result text", short)
    return blocks


def redact(body, keep):
    if isinstance(body.get("system"), list):
        redact_blocks(body["system"], keep, "system prompt text")
    elif isinstance(body.get("system"), str):
        body["system"] = placeholder(body["system"], "system prompt text")
    for tool in body.get("tools") or []:
        if isinstance(tool.get("description"), str):
            tool["description"] = "[%s tool description, %d chars]" % (tool.get("name"), len(tool["description"]))
        if "input_schema" in tool:
            redact_schema(tool["input_schema"])
    for m in body.get("messages") or []:
        if "content" in m:
            m["content"] = redact_blocks(m["content"], keep, "%s message text" % m.get("role"), SHORT)
    return body


def headers_json(entry):
    """The request line and headers as JSON, one [name, value] pair a line."""
    pairs = ",\n".join("  " + json.dumps(h) for h in entry["headers"])
    return '{\n "method": %s,\n "path": %s,\n "headers": [\n%s\n ]\n}\n' % (
        json.dumps(entry["method"]), json.dumps(entry["path"]), pairs)


def block_types(node, seen):
    if isinstance(node, dict):
        if isinstance(node.get("type"), str):
            seen.add(node["type"])
        for k, v in node.items():
            if k not in ("input_schema", "input"):
                block_types(v, seen)
    elif isinstance(node, list):
        for v in node:
            block_types(v, seen)


def main():
    log, outdir, prefix = sys.argv[1:4]
    keep = set(sys.argv[4:])
    os.makedirs(outdir, exist_ok=True)
    n = 0
    for line in open(log, encoding="utf-8"):
        e = json.loads(line)
        if e["method"] != "POST" or not e["path"].startswith("/v1/messages"):
            continue
        n += 1
        body = redact(e["body"], keep)
        base = os.path.join(outdir, "%s-%d" % (prefix, n))
        with open(base + ".json", "w", encoding="utf-8") as f:
            json.dump(body, f, indent=1, ensure_ascii=False)
            f.write("\n")
        with open(base + ".headers.json", "w", encoding="utf-8") as f:
            f.write(headers_json(e))
        seen = set()
        block_types(body.get("messages"), seen)
        block_types(body.get("system"), seen)
        print("%s: keys %s; message/system types %s; tools %d" % (
            os.path.basename(base), ",".join(body.keys()), ",".join(sorted(seen)), len(body.get("tools") or [])))


if __name__ == "__main__":
    main()
