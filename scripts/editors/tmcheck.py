#!/usr/bin/env python3
"""Tokenizes .conn files with the TextMate grammar's own regexes and reports error tokens.

A small TextMate engine: at each position of a line, every pattern of the current context is
searched; the match that starts first wins, ties go to the pattern listed first (the rule of
vscode-textmate). begin/end regions push a context whose end pattern competes with its patterns
(and wins ties). A character is an error when it is not blank and either no scope covers it or
a scope `invalid.*` does. The grammar must use only regex syntax Python's `re` shares with
Oniguruma (this script refuses Oniguruma-only escapes such as \\h, \\G, \\A, \\z, (?~...)).

Usage: tmcheck.py GRAMMAR [--self-test] FILE_OR_DIR...
Exit codes: 0 no error token, 1 error tokens found (or the self-test failed), 2 bad grammar/usage.
"""
import json
import os
import re
import sys

ONIG_ONLY = [r"\h", r"\H", r"\G", r"\A", r"\z", r"\Z", "(?~", r"\k<", r"\g<", "(?>", "*+", "++", "?+"]


def die(message):
    """A grammar this script cannot read: exit code 2."""
    print(f"tmcheck: {message}", file=sys.stderr)
    sys.exit(2)


def compile_rx(rx, where):
    for bad in ONIG_ONLY:
        if bad in rx:
            die(f"{where}: Oniguruma-only syntax {bad!r} in {rx!r}")
    try:
        return re.compile(rx)
    except re.error as e:
        die(f"{where}: bad regex {rx!r}: {e}")


class Grammar:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            self.g = json.load(f)
        self.repo = self.g.get("repository", {})
        self.cache = {}
        self.top = self.flatten(self.g["patterns"], "patterns")

    def flatten(self, patterns, where):
        """Resolves includes into a flat list of rules (dicts with compiled regexes)."""
        out = []
        for i, p in enumerate(patterns):
            w = f"{where}[{i}]"
            if "include" in p:
                ref = p["include"]
                if not ref.startswith("#") or ref[1:] not in self.repo:
                    die(f"{w}: unknown include {ref!r}")
                key = ref[1:]
                if key not in self.cache:
                    self.cache[key] = []  # guards against include cycles
                    self.cache[key] = self.flatten([self.repo[key]], key)
                out.extend(self.cache[key])
            elif "patterns" in p and "match" not in p and "begin" not in p:
                out.extend(self.flatten(p["patterns"], w))
            elif "match" in p:
                out.append({"kind": "match", "rx": compile_rx(p["match"], w), "name": p.get("name"),
                            "captures": p.get("captures", {})})
            elif "begin" in p:
                rule = {"kind": "begin", "rx": compile_rx(p["begin"], w), "name": p.get("name"),
                        "captures": p.get("beginCaptures", p.get("captures", {})),
                        "end": compile_rx(p["end"], w + ".end"),
                        "endCaptures": p.get("endCaptures", p.get("captures", {})),
                        "inner": None, "innerSrc": p.get("patterns", []), "where": w}
                out.append(rule)
            else:
                die(f"{w}: a rule needs match, begin or include")
        return out

    def inner(self, rule):
        if rule["inner"] is None:
            rule["inner"] = self.flatten(rule["innerSrc"], rule["where"] + ".patterns")
        return rule["inner"]


def paint(scopes, m, name, captures):
    if name:
        for i in range(m.start(), m.end()):
            scopes[i].append(name)
    for k, c in captures.items():
        g = int(k)
        if g <= (m.re.groups) and m.start(g) >= 0 and c.get("name"):
            for i in range(m.start(g), m.end(g)):
                scopes[i].append(c["name"])


def tokenize(grammar, lines):
    """Yields (line number, line, scopes per character). Regions may span lines."""
    stack = []  # open begin/end rules

    def paint_region(scopes, rule, start, end):
        if rule["name"]:
            for i in range(start, end):
                if rule["name"] not in scopes[i]:
                    scopes[i].append(rule["name"])

    for n, line in enumerate(lines, 1):
        scopes = [[] for _ in line]
        starts = [0 for _ in stack]  # where each open region starts on this line
        pos = 0
        while pos <= len(line):
            rules = grammar.inner(stack[-1]) if stack else grammar.top
            best = None
            if stack:
                m = stack[-1]["end"].search(line, pos)
                if m:
                    best = (m.start(), -1, m, None)
            for i, r in enumerate(rules):
                m = r["rx"].search(line, pos)
                if m and (best is None or m.start() < best[0]):
                    best = (m.start(), i, m, r)
            if best is None:
                break
            start, _, m, r = best
            if r is None:  # the innermost region ends
                region = stack.pop()
                paint_region(scopes, region, starts.pop(), m.end())
                paint(scopes, m, None, region["endCaptures"])
                if m.end() == m.start() and m.end() >= len(line):
                    break
                pos = m.end()
                continue
            paint(scopes, m, r["name"], r["captures"])
            if r["kind"] == "begin":
                stack.append(r)
                starts.append(m.start())
            pos = m.end() if m.end() > m.start() else m.end() + 1  # zero-length: do not stall
        for rule, s in zip(stack, starts):
            paint_region(scopes, rule, s, len(line))
        yield n, line, scopes


def errors_in(grammar, text):
    out = []
    for n, line, scopes in tokenize(grammar, text.split("\n")):
        col = 0
        while col < len(line):
            ch = line[col]
            s = scopes[col]
            bad = None
            if not ch.isspace():
                if not s:
                    bad = "unscoped"
                elif any(x.startswith("invalid") for x in s):
                    bad = "invalid"
            if bad:
                end = col
                while end < len(line) and not line[end].isspace() and (
                        not scopes[end] or any(x.startswith("invalid") for x in scopes[end])):
                    end += 1
                out.append((n, col + 1, bad, line[col:max(end, col + 1)], line))
                col = max(end, col + 1)
            else:
                col += 1
    return out


# Lines the grammar must flag: if one of them tokenizes cleanly, the check is broken.
BROKEN = [
    "connect s 127.0.0.1:80 $$",
    "expect EINPROGRESS, ECONNREFUSED",
    "bind s 127.0.0.1:80x",
    "connect s localhost:80",
    'sock u = stream unix; bind u "bad\\q"',
    "connect s fd00::1:80",
]
# Lines it must accept.
GOOD = [
    "sock s = stream inet nonblock; connect s 127.0.0.1:80 nonblock; expect EINPROGRESS",
    "repeat 3 { connect s [fe80::1%lo]:80 interrupt 10ms len 16 }",
    'send s "a\\x41\\n\\0" MSG_DONTWAIT MSG_NOSIGNAL # trailing',
    "# needs: root, isolate",
    "firewall r output tcp daddr 10.0.0.0/8 dport 80 reject with icmp host-unreachable",
    "sysctl r net.ipv4.tcp_syn_retries 1",
    "bind a @ctl-1.x; sock f = fd -1; net route fd00:9::/64 unreachable",
    "expect readable writable or timeout after 1.5s within 2m",
]


def self_test(grammar):
    ok = True
    for line in BROKEN:
        if not errors_in(grammar, line):
            print(f"tmcheck: self-test: the broken line {line!r} was not flagged", file=sys.stderr)
            ok = False
    for line in GOOD:
        errs = errors_in(grammar, line)
        if errs:
            print(f"tmcheck: self-test: the good line {line!r} was flagged: {errs}", file=sys.stderr)
            ok = False
    return ok


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    grammar = Grammar(argv[1])
    args = argv[2:]
    status = 0
    if "--self-test" in args:
        args.remove("--self-test")
        if not self_test(grammar):
            status = 1
    files = []
    for a in args:
        if os.path.isdir(a):
            for root, _, names in os.walk(a):
                files.extend(os.path.join(root, x) for x in names if x.endswith(".conn"))
        else:
            files.append(a)
    count = 0
    for f in sorted(files):
        with open(f, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
        for n, col, kind, tok, line in errors_in(grammar, text):
            print(f"{f}:{n}:{col}: {kind} token {tok!r}\n  {line}", file=sys.stderr)
            count += 1
    print(f"tmcheck: {len(files)} files, {count} error tokens")
    return 1 if count or status else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
