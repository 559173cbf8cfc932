#!/usr/bin/env python3
"""complexity_gate.py - the structure gate of `make lint` (issue 12).

  python3 tools/complexity_gate.py [--fail] [--allow FILE] [--max N] FILE...

Two rules over the library's C (the header and the adapters):

  1. Every function has a GNU complexity (Debian's `complexity`, the score
     FreeRTOS and coreJSON publish) of at most --max (14). At most one
     function may be allowed more, up to 30: a state machine whose switch is
     its structure, named with its limit and the reason in the allowlist
     (--allow, default tools/complexity_allow.txt; lines "function limit
     reason...", '#' comments).
  2. No backward goto (MISRA C:2012 rule 15.2): a goto whose label is
     defined above it in the same function. Found by a small scanner over
     the text with comments, strings and character constants blanked.

Prints every violation as "file:line: function: what". Without --fail it
reports and exits 0 (REPORT mode: the code does not meet the gate yet);
with --fail a violation exits 1. A missing `complexity` program exits 4
with the reason, so the caller can skip by name. The last line is
"lint-complexity: N passed, M failed" for tests/run_tests.sh.

Python standard library only.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
ALLOW_MAX = 30      # the most an allowed state machine may score
ALLOW_ENTRIES = 1   # how many functions the allowlist may name


def blank(text):
    """text with comments, string literals and character constants replaced
    by spaces (newlines kept), so offsets and line numbers stay."""
    out = list(text)
    i, n = 0, len(text)

    def wipe(a, b):
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            wipe(i, j)
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            wipe(i, j)
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            wipe(i + 1, min(j, n))
            i = j + 1
        else:
            i += 1
    return "".join(out)


LABEL_RE = re.compile(r"(?:^|(?<=[;{}:]))\s*([A-Za-z_]\w*)\s*:(?!:)", re.M)
GOTO_RE = re.compile(r"\bgoto\s+([A-Za-z_]\w*)\s*;")
NAME_RE = re.compile(r"([A-Za-z_]\w*)\s*\([^;{}]*\)\s*$")
NOT_LABELS = {"default", "case", "public", "private", "protected"}


def functions(text):
    """[(name, start, end)] of the top-level brace blocks that follow a
    parameter list (function bodies), by offsets into the blanked text."""
    res, depth, start = [], 0, 0
    line_start = True
    i = 0
    while i < len(text):
        c = text[i]
        if c == "#" and line_start:  # a preprocessor line: skip it with its continuations
            while i < len(text) and text[i] != "\n":
                i += 2 if text.startswith("\\\n", i) else 1
            continue
        if c == "\n":
            line_start = True
        elif not c.isspace():
            line_start = False
        if c == "{":
            if depth == 0:
                start = i
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                head = text[max(0, start - 600):start]
                head = head.split(";")[-1].split("}")[-1]
                m = NAME_RE.search(head.replace("\n", " "))
                if m:
                    res.append((m.group(1), start, i))
        i += 1
    return res


def backward_gotos(path):
    """[(line, function, label, label line)] and the number of gotos."""
    with open(path) as f:
        text = blank(f.read())
    found, total = [], 0

    def line_of(off):
        return text.count("\n", 0, off) + 1
    for name, a, b in functions(text):
        body = text[a:b]
        labels = {}
        for m in LABEL_RE.finditer(body):
            lab = m.group(1)
            if lab in NOT_LABELS:
                continue
            # "x ? a : b" and bit-fields are not statements: a label is
            # preceded by ; { } or another label's colon
            labels.setdefault(lab, m.start(1))
        for m in GOTO_RE.finditer(body):
            total += 1
            lab = m.group(1)
            if lab in labels and labels[lab] < m.start():
                found.append((line_of(a + m.start()), name, lab, line_of(a + labels[lab])))
    return found, total


def definition_line(lines, name):
    pat = re.compile(r"^[A-Za-z].*\b%s\s*\(" % re.escape(name))
    for i, line in enumerate(lines):
        if pat.match(line) and not line.rstrip().endswith(";"):
            return i + 1
    return 0


def scores(path, threshold):
    """[(score, function)] of every function scoring at least threshold."""
    p = subprocess.run(["complexity", "--threshold=%d" % threshold, "--no-header", path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    res = []
    for line in p.stdout.split("\n"):
        m = re.match(r"^\s*(\d+)\s+\d+\s+\d+\s+\S+\(\d+\):\s+(\S+)\s*$", line)
        if m:
            res.append((int(m.group(1)), m.group(2)))
    return res


def read_allow(path):
    """{function: (limit, reason)} and the list of problems with the file."""
    allow, bad = {}, []
    if not path or not os.path.exists(path):
        return allow, bad
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split(None, 2)
            if len(parts) < 3 or not parts[1].isdigit():
                bad.append("%s:%d: expected \"function limit reason\"" % (path, n))
                continue
            limit = int(parts[1])
            if limit > ALLOW_MAX:
                bad.append("%s:%d: %s: limit %d is above %d" % (path, n, parts[0], limit,
                                                                  ALLOW_MAX))
            allow[parts[0]] = (limit, parts[2])
    if len(allow) > ALLOW_ENTRIES:
        bad.append("%s: %d functions allowed; at most %d (one documented state machine)" % (
            path, len(allow), ALLOW_ENTRIES))
    return allow, bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--fail", action="store_true", help="exit 1 on a violation")
    ap.add_argument("--max", type=int, default=14)
    ap.add_argument("--allow", default=os.path.join(ROOT, "tools", "complexity_allow.txt"))
    args = ap.parse_args()
    if not shutil.which("complexity"):
        print("lint-complexity: not run: the `complexity` program is missing "
              "(apt-get install complexity)")
        return 4
    allow, problems = read_allow(args.allow)
    over, back, gotos = 0, 0, 0
    for path in args.files:
        with open(path) as f:
            lines = f.read().split("\n")
        for score, name in scores(path, args.max + 1):
            limit, reason = allow.get(name, (args.max, None))
            where = "%s:%d: %s" % (path, definition_line(lines, name), name)
            if score > limit:
                over += 1
                problems.append("%s: GNU complexity %d, over %d%s" % (
                    where, score, limit, " (its allowlisted limit)" if reason else ""))
            else:
                print("allowed  %s: GNU complexity %d <= %d: %s" % (where, score, limit, reason))
        found, total = backward_gotos(path)
        gotos += total
        for line, name, lab, lab_line in found:
            back += 1
            problems.append("%s:%d: %s: backward goto %s (label at line %d)" % (
                path, line, name, lab, lab_line))
    for p in problems:
        print(p)
    summary = ("%d functions over their limit, %d backward gotos (of %d gotos) in %s" % (
        over, back, gotos, " ".join(args.files)))
    if problems and not args.fail:
        print("lint-complexity: REPORT mode, not failing: %s" % summary)
        print("lint-complexity: 1 passed, 0 failed")
        return 0
    if problems:
        print("lint-complexity: %s" % summary)
        print("lint-complexity: 0 passed, 1 failed")
        return 1
    print("lint-complexity: every function at most %d (allowlist: %s), no backward goto" % (
        args.max, ", ".join("%s <= %d" % (k, v[0]) for k, v in allow.items()) or "empty"))
    print("lint-complexity: 1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
