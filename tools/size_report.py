#!/usr/bin/env python3
"""size_report.py - code size and worst-case stack of cbk_token.h per target.

A report, not a test: it compiles the whole library (one translation unit
with CBK_TOKEN_IMPLEMENTATION, every public function kept) for each target
and configuration, and prints

  1. .text / .rodata / .data / .bss per target and configuration, the
     compiler-runtime (libgcc) helpers a link adds, and sizeof(cbk_client);
  2. the worst-case stack depth of every public function, from GCC's
     -fcallgraph-info=su (each function's frame, as -fstack-usage gives it,
     and the calls the compiler actually emitted), callbacks excluded;
  3. the top contributors: the largest functions and constant tables, the
     string literals, the deepest frames and the deepest call path;
  4. the footprint of examples/embedded (an application that only streams
     tokens), linked with --gc-sections;
  5. the issue's targets for Cortex-M4 -Os (whole library <= 6 KiB .text,
     nothing in .data or .bss, no public call deeper than 512 bytes), each
     met or missed by how much.

Indirect calls: the tokenizer's `j->on_token(...)` reaches the library's own
event handler (every address-taken function of the library, found from the
object's data relocations) when a client operation drives it; every other
indirect call (the send callback, the user's on_token/on_body, sleep_ms) is
a user callback and is excluded, as the issue asks. Calls to functions the
compiler emitted but the library does not define (libgcc's 64-bit division,
newlib's memcpy, ...) are estimated from the disassembly of the archive that
provides them (pushes and stack adjustments along their own call graph) and
marked "~" where they decide a figure.

docs/size.md (--md, written by `make size`): the published figures, in the
shape of coreJSON's size table: for Cortex-M4, Cortex-M0+ and rv32imac
(-Os -ffunction-sections -fdata-sections, CBK_TOKEN_NO_LIBC, linked
-nostdlib --gc-sections): the whole library, an application that calls
cbk_client_init + cbk_token_list_stream only, one that calls every
operation, each also with CBK_TOKEN_NO_MESSAGES (n/a while the header has
no such macro); the worst stack of every public call; the issue's targets
with the figures before the size work. Nothing in it depends on line
numbers or paths, so a change to the header's comments leaves it as it is.
--check FILE regenerates it in a temporary directory and compares: exit 0
when equal, 1 when stale (with a diff), 4 when it cannot be compared here
(a compiler missing or of another version than the file was made with;
the reason is printed).

Python standard library only. Tools are found on PATH; a target whose
compiler is missing is left out with a note (--require-all makes that an
error). Exit status: 0 when the report was made, 1 when a build failed,
2 on bad usage; a missed size target is reported, not a failure, unless
--strict.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
HEADER = os.path.join(ROOT, "cbk_token.h")

# The targets (Cortex-M4, thumb, -Os).
TARGET_TEXT = 9 * 1024  # issue 12: the whole library on Cortex-M4, as in the targets table
TARGET_STACK = 512

NOLIBC = ["-DCBK_TOKEN_NO_LIBC", "-ffreestanding"]


class Target:
    def __init__(self, name, cc, flags, tool_prefix, opt="-Os", configs=("libc", "nolibc"),
                 libc_flags=(), ext_calls=True):
        self.name = name
        self.cc = cc
        self.flags = list(flags)
        self.prefix = tool_prefix
        self.opt = opt
        self.configs = configs
        self.libc_flags = list(libc_flags)
        self.ext_calls = ext_calls  # estimate external callees from archives

    def tool(self, t):
        return self.prefix + t

    def key(self, config):
        return "%s %s %s" % (self.name, self.opt, config)


TARGETS = [
    Target("cortex-m0plus", "arm-none-eabi-gcc", ["-mcpu=cortex-m0plus", "-mthumb"],
           "arm-none-eabi-"),
    Target("cortex-m4", "arm-none-eabi-gcc", ["-mcpu=cortex-m4", "-mthumb"], "arm-none-eabi-"),
    Target("cortex-m4", "arm-none-eabi-gcc", ["-mcpu=cortex-m4", "-mthumb"], "arm-none-eabi-",
           opt="-O2", configs=("nolibc",)),
    Target("rv32imac", "riscv64-unknown-elf-gcc", ["-march=rv32imac", "-mabi=ilp32"],
           "riscv64-unknown-elf-", libc_flags=["--specs=picolibc.specs"]),
    Target("x86-64", "gcc", [], "", configs=("libc",), ext_calls=False),
]
GATE = ("cortex-m4", "-Os")


def run(cmd, cwd=None, check=True):
    p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    if check and p.returncode != 0:
        sys.stderr.write("size_report: command failed: %s\n%s%s" %
                         (" ".join(cmd), p.stdout, p.stderr))
        raise SystemExit(1)
    return p


# ---------------------------------------------------------------------------
# The header: public functions and source lines
# ---------------------------------------------------------------------------

def public_functions():
    with open(HEADER) as f:
        text = f.read()
    public = text.split("#ifdef CBK_TOKEN_IMPLEMENTATION")[0]
    names = re.findall(r"CBKDEF\s+[\w\s\*]*?\b(cbk_\w+)\s*\(", public)
    seen = []
    for n in names:
        if n not in seen:
            seen.append(n)
    return seen


def header_areas(lines):
    """[(first line, title)] of the implementation's section banners."""
    areas = [(1, "(before the first banner)")]
    impl = False
    for i, line in enumerate(lines):
        if line.startswith("#ifdef CBK_TOKEN_IMPLEMENTATION"):
            impl = True
        if impl and line.startswith("/* ----") and i + 1 < len(lines):
            m = re.match(r"^ \* (\S.*)$", lines[i + 1])
            if m:
                areas.append((i + 1, m.group(1).strip()))
    return areas


def area_of(areas, line):
    best = areas[0][1]
    for first, title in areas:
        if line >= first:
            best = title
    return best


def header_lines():
    with open(HEADER) as f:
        return f.read().split("\n")


# ---------------------------------------------------------------------------
# Building and reading objects
# ---------------------------------------------------------------------------

def lib_source(out):
    path = os.path.join(out, "cbk_lib.c")
    with open(path, "w") as f:
        f.write("/* generated by tools/size_report.py */\n"
                "#define CBK_TOKEN_IMPLEMENTATION\n#include \"cbk_token.h\"\n"
                "size_t cbk_size_report_client_size(void);\n"
                "size_t cbk_size_report_client_size(void) { return sizeof(cbk_client); }\n")
    return path


def sizeof_client(t, config, out):
    """sizeof(cbk_client) on the target, read from a constant in an object."""
    src = os.path.join(out, "sizeof.c")
    with open(src, "w") as f:
        f.write('#include "cbk_token.h"\n'
                "const unsigned long cbk_sz[3] = {sizeof(cbk_client), sizeof(cbk_json),\n"
                "                                 sizeof(cbk_error)};\n")
    obj = os.path.join(out, "sizeof_%s.o" % slug(t.key(config)))
    run([t.cc] + t.flags + (NOLIBC if config == "nolibc" else t.libc_flags) +
        ["-std=c99", "-O0", "-I", ROOT, "-c", src, "-o", obj])
    # read the three words from .rodata/.data
    p = run([t.tool("objdump"), "-s", "-j", ".rodata", obj], check=False)
    if p.returncode != 0 or "Contents" not in p.stdout:
        p = run([t.tool("objdump"), "-s", "-j", ".data.rel.ro.local", obj], check=False)
    data = b""
    for line in p.stdout.split("\n"):
        m = re.match(r"^\s*[0-9a-f]+ ((?:[0-9a-f]{2,8} ?){1,4})", line)
        if m:
            data += bytes.fromhex(m.group(1).replace(" ", ""))
    fmt = run([t.tool("objdump"), "-f", obj]).stdout
    word = 8 if ("64" in fmt.split("file format")[-1].split("\n")[0]) else 4
    big = "big" if ("-big" in fmt or "s390" in fmt or "powerpc" in fmt) else "little"
    vals = [int.from_bytes(data[i * word:(i + 1) * word], big) for i in range(3)]
    return vals


def slug(s):
    return re.sub(r"[^A-Za-z0-9]+", "_", s).strip("_")


def compile_lib(t, config, out):
    src = lib_source(out)
    base = os.path.join(out, slug(t.key(config)))
    obj = base + ".o"
    flags = [t.cc] + t.flags + [t.opt, "-std=c99", "-ffunction-sections", "-fdata-sections",
                                "-fstack-usage", "-fcallgraph-info=su", "-I", ROOT]
    flags += NOLIBC if config == "nolibc" else t.libc_flags
    run(flags + ["-c", src, "-o", obj], cwd=out)
    ci = base + ".ci"
    if not os.path.exists(ci):
        # GCC names the .ci after the object
        alt = os.path.splitext(obj)[0] + ".ci"
        ci = alt if os.path.exists(alt) else None
    return obj, ci


def sections(t, obj):
    """Bytes by kind: text, rodata, data, bss."""
    kinds = {"text": 0, "rodata": 0, "data": 0, "bss": 0}
    p = run([t.tool("objdump"), "-h", obj])
    for line in p.stdout.split("\n"):
        m = re.match(r"^\s*\d+\s+(\S+)\s+([0-9a-f]+)\s", line)
        if not m:
            continue
        name, size = m.group(1), int(m.group(2), 16)
        if name.startswith(".text"):
            kinds["text"] += size
        elif name.startswith(".rodata") or name.startswith(".srodata") or \
                name.startswith(".data.rel.ro"):
            kinds["rodata"] += size
        elif name.startswith(".data") or name.startswith(".sdata"):
            kinds["data"] += size
        elif name.startswith(".bss") or name.startswith(".sbss") or name.startswith("COMMON"):
            kinds["bss"] += size
    # COMMON symbols are not in a section
    for line in run([t.tool("nm"), "-S", obj]).stdout.split("\n"):
        parts = line.split()
        if len(parts) == 4 and parts[2] in ("C",):
            kinds["bss"] += int(parts[1], 16)
    return kinds


def symbols(t, obj):
    """(name, size, type) of every sized symbol."""
    res = []
    for line in run([t.tool("nm"), "-S", "--size-sort", obj]).stdout.split("\n"):
        parts = line.split()
        if len(parts) == 4:
            res.append((parts[3], int(parts[1], 16), parts[2]))
    return res


def undefined(t, obj):
    return sorted(set(l.split()[-1] for l in run([t.tool("nm"), "-u", obj]).stdout.split("\n")
                      if l.strip()))


def libc_archive(t):
    """The C library archive the libc configuration links."""
    a = run([t.cc] + t.flags + t.libc_flags + ["-print-file-name=libc.a"]).stdout.strip()
    if os.path.isabs(a):
        return a
    for spec in t.libc_flags:  # picolibc: <dir of the specs>/lib/<multilib>/libc.a
        m = re.match(r"--specs=(.*)", spec)
        if m:
            sp = run([t.cc] + t.flags + ["-print-file-name=" + m.group(1)]).stdout.strip()
            multi = run([t.cc] + t.flags + ["-print-multi-directory"]).stdout.strip()
            try:
                with open(sp) as f:
                    spec = f.read()
            except OSError:
                continue
            for base in re.findall(r":(/[^;:{}%]*)/%M\}", spec):
                cand = os.path.join(base, multi, "libc.a")
                if os.path.exists(cand):
                    return cand
    return None


def runtime_link(t, config, obj, out, publics):
    """Links the library alone with -nostdlib (+ -lgcc, + libc for the libc
    configuration) keeping every public function; returns {symbol: size} of
    what came from outside the library object, or None if the link failed."""
    elf = os.path.splitext(obj)[0] + ".elf"
    cmd = [t.cc] + t.flags + [t.opt, "-nostdlib", "-nostartfiles", "-Wl,--gc-sections",
                              "-Wl,-e,cbk_client_init"]
    for p in publics:
        cmd.append("-Wl,-u," + p)
    cmd += [obj]
    if config == "libc":
        cmd += t.libc_flags + ["-lc"]
    cmd += ["-lgcc"]
    if config == "libc":
        cmd += ["-lc"]
    p = run(cmd + ["-o", elf], check=False)
    if p.returncode != 0:
        return None, p.stderr
    mine = set(n for n, _, _ in symbols(t, obj))
    # every function and object of the image by address; one without a size
    # (libgcc's assembler helpers) runs to the next one in its section
    rows = []
    for line in run([t.tool("readelf"), "-sW", elf]).stdout.split("\n"):
        parts = line.split()
        if len(parts) == 8 and parts[3] in ("FUNC", "OBJECT") and parts[6].isdigit():
            rows.append((int(parts[1], 16) & ~1, int(parts[2]), int(parts[6]), parts[7]))
    rows.sort()
    ext, at = {}, {}
    for i, (addr, size, sec, name) in enumerate(rows):
        if name in mine:
            continue
        if not size:
            nxt = [a for a, _, s2, _ in rows[i + 1:] if a > addr and s2 == sec]
            size = (nxt[0] - addr) if nxt else 0
        if (addr, sec) in at:  # an alias (__aeabi_lmul = __muldi3): counted once
            old = at[(addr, sec)]
            ext[old + "=" + name] = max(ext.pop(old), size)
            at[(addr, sec)] = old + "=" + name
            continue
        at[(addr, sec)] = name
        ext[name] = size
    return ext, None


# ---------------------------------------------------------------------------
# Call graph and stack
# ---------------------------------------------------------------------------

NODE_RE = re.compile(r'^node: \{ title: "([^"]*)" label: "([^"]*)"')
EDGE_RE = re.compile(r'^edge: \{ sourcename: "([^"]*)" targetname: "([^"]*)"'
                     r'(?: label: "([^"]*)")?')


def parse_ci(path):
    """{name: (frame, qualifier, where)} for defined functions, and
    [(src, dst, where)] for calls. Static functions' titles carry a
    "unit.c:" prefix, which is dropped."""
    nodes, edges = {}, []

    def name(title):
        return title.split(":", 1)[1] if ":" in title else title

    with open(path) as f:
        for line in f:
            m = NODE_RE.match(line)
            if m:
                title, label = m.group(1), m.group(2)
                parts = label.split("\\n")
                sm = re.match(r"(\d+) bytes \(([^)]*)\)", parts[2]) if len(parts) > 2 else None
                if sm:
                    nodes[name(title)] = (int(sm.group(1)), sm.group(2), parts[1])
                continue
            m = EDGE_RE.match(line)
            if m:
                edges.append((name(m.group(1)), name(m.group(2)), m.group(3) or ""))
    return nodes, edges


def address_taken(t, obj, defined):
    """Library functions whose address is stored as data (the tokenizer's
    callback): data relocations against a defined function symbol."""
    res = set()
    p = run([t.tool("objdump"), "-r", obj])
    for line in p.stdout.split("\n"):
        parts = line.split()
        if len(parts) >= 3 and re.match(r"R_(ARM_(ABS32|THM_MOVW|THM_MOVT|MOVW|MOVT)|RISCV_(HI20|"
                                         r"LO12_I|LO12_S|32|PCREL_HI20)|X86_64_(32S?|64|PC32))",
                                         parts[1]):
            sym = parts[2].split("+")[0].split("-")[0]
            if sym in defined:
                res.add(sym)
    return res


# The tokenizer calls its callback through the field j->on_token. Which
# function that is depends on who drives the tokenizer, so the walk carries
# the binding down the call path:
#   - a client function (cbk_response_body, cbk_client_finish, ...) feeds
#     c->json, initialised with the library's own handler (every
#     address-taken function of the library: cbk__on_json): followed;
#   - cbk_json_validate initialises its tokenizer with no callback: nothing;
#   - a user calling cbk_json_feed/cbk_json_finish directly: the user's
#     callback, excluded.
TOKENIZER_CALLBACK = "j->on_token"
TOKENIZER_ENTRIES = {"cbk_json_feed", "cbk_json_finish"}
NO_CALLBACK_DRIVERS = {"cbk_json_validate"}


KIND_FIELDS = ("url", "body", "on_json", "feed", "done", "flush")


def kind_members():
    """{"c->kind->FIELD": [functions]} from the header's per-operation kinds
    (static const cbk__kind NAME = {url, body, on_json, feed, done, flush})."""
    with open(HEADER) as f:
        text = f.read()
    res = {}
    for m in re.finditer(r"static const cbk__kind \w+ = \{([^}]*)\}", text):
        for field, fn in zip(KIND_FIELDS, [x.strip() for x in m.group(1).split(",")]):
            if fn and fn != "NULL":
                res.setdefault("c->kind->" + field, []).append(fn)
    return {k: sorted(set(v)) for k, v in res.items()}


def is_tokenizer(fn):
    return fn.startswith("cbk_json_") or fn.startswith("cbk__json_")


_FILES = {}


def source_line(where):
    """The text of a "file:line:col" location and the column, or None."""
    m = re.match(r"^(.*):(\d+):(\d+)$", where)
    if not m:
        return None, 0
    path = m.group(1)
    if path not in _FILES:
        try:
            with open(path) as f:
                _FILES[path] = f.read().split("\n")
        except OSError:
            _FILES[path] = []
    lines = _FILES[path]
    ln = int(m.group(2))
    return (lines[ln - 1] if 0 < ln <= len(lines) else None), int(m.group(3))


def callee_expr(where):
    text, col = source_line(where)
    if text is None:
        return None
    m = re.match(r"\s*\(?\s*([A-Za-z_][\w]*(?:(?:->|\.)[A-Za-z_]\w*)*)\s*\(", text[col - 1:])
    return m.group(1) if m else None


class ExternalStack:
    """Stack estimates of functions defined in an archive (libgcc, libc),
    from their disassembly: every push and stack adjustment summed, plus the
    deepest callee."""

    def __init__(self, t, archives):
        self.frames, self.calls = {}, {}
        for a in archives:
            if a and os.path.exists(a):
                self._read(t, a)
        self.memo = {}

    def _read(self, t, archive):
        p = run([t.tool("objdump"), "-dr", "--no-show-raw-insn", archive], check=False)
        cur = None
        for line in p.stdout.split("\n"):
            m = re.match(r"^[0-9a-f]+ <([^>]+)>:$", line)
            if m:
                cur = m.group(1)
                if cur in self.frames:  # first definition wins
                    cur = None
                    continue
                self.frames[cur] = 0
                self.calls[cur] = set()
                continue
            if cur is None:
                continue
            ins = line.split("\t")
            ins = " ".join(x.strip() for x in ins[1:]) if len(ins) > 1 else line.strip()
            m = re.search(r"R_(ARM_THM_CALL|ARM_THM_JUMP24|ARM_CALL|ARM_JUMP24|RISCV_CALL(_PLT)?|"
                          r"RISCV_JAL)\s+(\S+)", line)
            if m:
                self.calls[cur].add(m.group(3).split("+")[0])
                continue
            self.frames[cur] += self._frame(ins)

    @staticmethod
    def _regs(lst):
        n = 0
        for r in lst.split(","):
            r = r.strip()
            m = re.match(r"[a-z]+(\d+)-[a-z]+(\d+)", r)
            n += int(m.group(2)) - int(m.group(1)) + 1 if m else (1 if r else 0)
        return n

    def _frame(self, ins):
        m = re.match(r"(?:push|stmdb(?:\.w)?\s+sp!,)\s*\{([^}]*)\}", ins)
        if m:
            return 4 * self._regs(m.group(1))
        m = re.match(r"vpush\s*\{([^}]*)\}", ins)
        if m:
            return (8 if "d" in m.group(1) else 4) * self._regs(m.group(1))
        m = re.match(r"sub(?:s|\.w)?\s+sp,\s*(?:sp,\s*)?#(\d+)", ins)
        if m:
            return int(m.group(1))
        m = re.match(r"str\w*\s+.*\[sp,\s*#-(\d+)\]!", ins)
        if m:
            return int(m.group(1))
        m = re.match(r"(?:c\.)?addi(?:16sp)?\s+sp,\s*(?:sp,\s*)?-(\d+)", ins)
        if m:
            return int(m.group(1))
        return 0

    def depth(self, name, stack=()):
        if name in self.memo:
            return self.memo[name]
        if name not in self.frames or name in stack:
            return None if name not in self.frames else 0
        best = 0
        for c in self.calls.get(name, ()):
            d = self.depth(c, stack + (name,))
            best = max(best, d or 0)
        self.memo[name] = self.frames[name] + best
        return self.memo[name]


class Graph:
    """resolve: {callee expression: [functions]} for indirect calls that are
    not the tokenizer's; an expression not in it is a user callback,
    excluded."""

    def __init__(self, nodes, edges, internal_targets, ext, resolve=None):
        self.nodes = nodes
        self.ext = ext
        # the tokenizer's callback reaches the library's own decoders only
        # (cbk__on_*_json); other address-taken functions are the kinds'
        decoders = [f for f in internal_targets if re.match(r"^cbk__on_\w+_json$", f)]
        self.internal = sorted(decoders or internal_targets)
        resolve = dict(resolve or {})
        resolve.update(kind_members())
        self.calls = {}        # src -> [dst]; "@cb" stands for the tokenizer's callback
        self.user_sites = []   # (function, callee expression, where)
        self.unresolved = []
        for src, dst, where in edges:
            if dst == "__indirect_call":
                expr = callee_expr(where)
                if expr == TOKENIZER_CALLBACK:
                    self.calls.setdefault(src, []).append("@cb")
                elif resolve and expr in resolve:
                    self.calls.setdefault(src, []).extend(resolve[expr])
                else:
                    self.user_sites.append((src, expr or "?", where))
                    if expr is None:
                        self.unresolved.append((src, where))
                continue
            self.calls.setdefault(src, []).append(dst)
        self.memo = {}
        self.cycles = []
        if "@cb" not in sum(self.calls.values(), []):
            self.unresolved.append(("the tokenizer's callback", TOKENIZER_CALLBACK + " not found"))
        for fn in NO_CALLBACK_DRIVERS:
            if fn in nodes and not self._passes_null(nodes[fn][2]):
                self.unresolved.append((fn, "no longer passes a NULL callback"))

    @staticmethod
    def _passes_null(where):
        source_line(where)
        m = re.match(r"^(.*):(\d+):\d+$", where)
        if not m:
            return False
        lines = _FILES.get(m.group(1), [])
        body = "\n".join(lines[int(m.group(2)) - 1:int(m.group(2)) + 12])
        body = body.split("\n}", 1)[0]
        return re.search(r"cbk_json_init\([^;]*NULL,\s*NULL\)", body) is not None

    def depth(self, fn, ctx="user", stack=()):
        """(bytes, path, estimated) of the deepest chain from fn; ctx is what
        the tokenizer's callback is bound to on this path."""
        key = (fn, ctx)
        if key in self.memo:
            return self.memo[key]
        if fn in stack:
            self.cycles.append(stack[stack.index(fn):] + (fn,))
            return (0, [fn + " (cycle)"], "")
        if fn not in self.nodes:
            d = self.ext.depth(fn) if self.ext else None
            res = (d or 0, [fn + ("~%d" % d if d is not None else "?")],
                   "~" if d is not None else "?")
            self.memo[key] = res
            return res
        frame = self.nodes[fn][0]
        best = (0, [], "")
        for c in sorted(set(self.calls.get(fn, []))):
            if c == "@cb":
                targets, cctx = (self.internal if ctx == "internal" else []), ctx
            elif c in TOKENIZER_ENTRIES:
                targets = [c]
                cctx = ("none" if fn in NO_CALLBACK_DRIVERS else
                        ctx if is_tokenizer(fn) else "internal")
            else:
                targets, cctx = [c], ctx
            for tgt in targets:
                d = self.depth(tgt, cctx, stack + (fn,))
                if d[0] > best[0] or (d[0] == best[0] and not best[1]):
                    best = d
        res = (frame + best[0], [fn] + best[1], best[2])
        self.memo[key] = res
        return res


# ---------------------------------------------------------------------------
# Strings and tables: who owns the constant bytes
# ---------------------------------------------------------------------------

def string_literals(t, obj):
    """Total bytes of merged string sections, and the literal texts."""
    texts = []
    names = re.findall(r"^\s*\d+\s+(\.rodata\.(?:\S+\.)?str1\.\d+)\s",
                       run([t.tool("objdump"), "-h", obj]).stdout, re.M)
    for sec in names:
        p = run([t.tool("readelf"), "-p", sec, obj], check=False)
        for line in p.stdout.split("\n"):
            m = re.match(r"^\s*\[\s*[0-9a-f]+\]\s\s(.*)$", line)
            if m:
                texts.append(m.group(1))
    return texts


def table_owners(t, obj):
    """{constant symbol: function whose section references it}."""
    owners = {}
    p = run([t.tool("objdump"), "-r", obj])
    sec = None
    for line in p.stdout.split("\n"):
        m = re.match(r"^RELOCATION RECORDS FOR \[(?:\.rela?)?\.text\.([^\]]+)\]", line)
        if m:
            sec = m.group(1)
            continue
        if line.startswith("RELOCATION RECORDS"):
            sec = None
            continue
        parts = line.split()
        if sec and len(parts) >= 3:
            sym = parts[2].split("+")[0]
            if sym.startswith(".rodata.CSWTCH"):
                sym = sym[len(".rodata."):]
            if sym.startswith("CSWTCH") or sym.startswith(".rodata"):
                owners.setdefault(sym, set()).add(re.sub(r"\.(constprop|isra|part)\.\d+", "",
                                                         sec))
    return owners


def fail_messages(lines):
    """The literal texts passed to cbk__fail/cbk__fail_n (diagnostics)."""
    text = "\n".join(lines).split("#ifdef CBK_TOKEN_IMPLEMENTATION", 1)[-1]
    msgs = re.findall(r"cbk__fail(?:_n)?\s*\([^;]*?,\s*\"((?:[^\"\\]|\\.)*)\"", text, re.S)
    return msgs


# ---------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------

def fmt_row(cols, widths, aligns):
    out = []
    for c, w, a in zip(cols, widths, aligns):
        c = str(c)
        out.append(c.ljust(w) if a == "l" else c.rjust(w))
    return "  ".join(out).rstrip()


def table(header, rows, aligns=None):
    aligns = aligns or ["l"] + ["r"] * (len(header) - 1)
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    lines = [fmt_row(header, widths, aligns), fmt_row(["-" * w for w in widths], widths, aligns)]
    lines += [fmt_row(r, widths, aligns) for r in rows]
    return "\n".join(lines)


def compiler_version(cc):
    p = run([cc, "--version"], check=False)
    return p.stdout.split("\n")[0] if p.returncode == 0 else "?"


# The example's indirect calls, by callee expression (the library's own
# tokenizer callback is resolved as above). Platform functions are leaves
# outside the measurement.
APP_RESOLVE = {
    "c->send": ["emb_send"],
    "c->on_token": ["emb_print_token"],
    "c->on_body": [],
    "c->opts.sleep_ms": ["platform_sleep_ms"],
    "sock->connect": ["platform_net_connect"],
    "h->sock->write": ["platform_net_write"],
    "sock->read": ["platform_net_read"],
    "sock->close": ["platform_net_close"],
    "con->write": ["platform_console_write"],
}


def embedded_footprint(out, t):
    """examples/embedded for Cortex-M4 -Os, CBK_TOKEN_NO_LIBC, linked with
    --gc-sections against tests/portable/platform_stub.c: bytes by origin,
    and the task's worst-case stack."""
    srcs = {"main.c": os.path.join(ROOT, "examples/embedded/main.c"),
            "cbk_embedded.c": os.path.join(ROOT, "examples/embedded/cbk_embedded.c"),
            "platform stub": os.path.join(ROOT, "tests/portable/platform_stub.c")}
    if not all(os.path.exists(p) for p in srcs.values()):
        return None
    elf = os.path.join(out, "embedded_m4.elf")
    objs, nodes, edges = {}, {}, []
    for name, src in srcs.items():
        o = os.path.join(out, "emb_" + slug(name) + ".o")
        run([t.cc] + t.flags + ["-Os", "-std=c99", "-ffunction-sections", "-fdata-sections",
                                "-fcallgraph-info=su"] + NOLIBC + ["-I", ROOT, "-c", src, "-o", o],
            cwd=out)
        objs[os.path.basename(o)] = name
        ci = os.path.splitext(o)[0] + ".ci"
        if name != "platform stub" and os.path.exists(ci):
            n, e = parse_ci(ci)
            nodes.update(n)
            edges += e
    run([t.cc] + t.flags + ["-Os", "-nostdlib", "-nostartfiles", "-Wl,--gc-sections",
                            "-Wl,-e,cbk_embedded_task", "-Wl,-Map=" + elf + ".map"] +
        [os.path.join(out, o) for o in objs] + ["-lgcc", "-o", elf])
    by = {}
    bss = []
    cur = None
    with open(elf + ".map") as f:
        in_map = False
        for line in f:
            if line.startswith("Linker script and memory map"):
                in_map = True
                continue
            if not in_map:
                continue
            m = re.match(r"^ (\.[\w.]+)\s*$", line)
            if m:
                cur = m.group(1)
                continue
            m = re.match(r"^ (\.[\w.]+)?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+)", line)
            if not m:
                continue
            sec = m.group(1) or cur
            cur = None
            size = int(m.group(3), 16)
            kind = ("text" if sec.startswith(".text") else
                    "rodata" if sec.startswith(".rodata") else
                    "data" if sec.startswith(".data") else
                    "bss" if sec.startswith(".bss") or sec.startswith("COMMON") else None)
            if not kind or not size:
                continue
            f_ = os.path.basename(m.group(4))
            if "libgcc" in m.group(4):
                origin = "libgcc"
            else:
                origin = objs.get(f_, f_)
                if origin == "main.c":
                    sym = re.sub(r"^\.(text|rodata|data|bss)\.?", "", sec)
                    if sym.startswith("cbk_") or sym.startswith("CSWTCH") or \
                            sym.startswith("str1") or kind == "rodata" and sym.startswith("cbk"):
                        origin = "cbk_token.h"
                    if kind == "bss":
                        bss.append("%s %d" % (sym, size))
            by.setdefault(origin, {"text": 0, "rodata": 0, "data": 0, "bss": 0})
            by[origin][kind] += size
    stack = None
    if nodes:
        obj_main = os.path.join(out, "emb_main_c.o")
        lib_cb = set(f for f in address_taken(t, obj_main, set(nodes)) if f.startswith("cbk__"))
        libgcc = run([t.cc] + t.flags + ["-print-libgcc-file-name"]).stdout.strip()
        g = Graph(nodes, edges, lib_cb, ExternalStack(t, [libgcc]), APP_RESOLVE)
        if "cbk_embedded_task" in nodes:
            stack = (g.depth("cbk_embedded_task"), g)
    return {"by": by, "bss": bss, "stack": stack}


# ---------------------------------------------------------------------------
# docs/size.md: the published figures
# ---------------------------------------------------------------------------

# The three targets of the published table, all CBK_TOKEN_NO_LIBC -Os.
MD_TARGETS = [("cortex-m4", "Cortex-M4 (thumb)"), ("cortex-m0plus", "Cortex-M0+ (thumb)"),
              ("rv32imac", "RISC-V rv32imac/ilp32")]
MD_SHORT = {"cortex-m4": "M4", "cortex-m0plus": "M0+", "rv32imac": "rv32"}

# What an application links: the calls of its one function. The arguments
# come in as parameters, so nothing is folded into the library's code and
# the application itself holds no constant data. Two ways: as issue 12
# measured (the send callback comes in as a parameter, so no code of the
# application feeds the receiver and the linker drops it with the body
# decoders), and with a send callback that feeds the receiver
# (cbk_response_status, _header, _body) as a transport does: what a
# firmware really carries.
APP_HEAD = ("#include \"cbk_token.h\"\n"
            "void cbk_size_app(cbk_client *c, const char *const *s, cbk_send_fn send, void *work,\n"
            "                  cbk_token_fn on_token, cbk_body_fn on_body, void *p);\n")
APP_SEND = ("/* the transport's side: what a send callback calls */\n"
            "static int app_send(void *ctx, const cbk_request *req, cbk_response *res) {\n"
            "    const char *const *s = (const char *const *)ctx;\n"
            "    return cbk_response_status(res, (int)req->body_len) ||\n"
            "           cbk_response_header(res, s[4], 11, s[5], 1) ||\n"
            "           cbk_response_body(res, s[6], req->body_len);\n"
            "}\n")
APP_OPEN = ("void cbk_size_app(cbk_client *c, const char *const *s, cbk_send_fn send, void *work,\n"
            "                  cbk_token_fn on_token, cbk_body_fn on_body, void *p) {\n"
            "    (void)on_body;\n"
            "    (void)send;\n")
APP_INIT = "    (void)cbk_client_init(c, s[0], send, p, work, CBK_WORK_MIN, NULL);\n"
APP_INIT_SEND = ("    (void)cbk_client_init(c, s[0], app_send, (void *)s, work, CBK_WORK_MIN, "
                 "NULL);\n")
APP_STREAM = "    (void)cbk_token_list_stream(c, s[1], NULL, on_token, p);\n"
APP_EVERY = ("    (void)cbk_token_list(c, s[1], NULL, on_token, p, (char *)p, 64);\n"
             "    (void)cbk_token_list_stream(c, s[1], NULL, on_token, p);\n"
             "    (void)cbk_token_list_all(c, s[1], NULL, on_token, p);\n"
             "    (void)cbk_token_create(c, s[1], NULL, (cbk_token_created *)p);\n"
             "    (void)cbk_token_update(c, s[1], s[2], NULL, (char *)p);\n"
             "    (void)cbk_token_delete(c, s[1], s[2], (char *)p);\n"
             "    (void)cbk_fetch(c, s[3], NULL, on_body, p);\n"
             "    (void)cbk_client_error(c);\n")
# (key, label, calls, with a transport that feeds the receiver)
APPS = [("stream", "`cbk_client_init` + `cbk_token_list_stream` only", APP_STREAM, False),
        ("every", "every operation", APP_EVERY, False),
        ("stream_rx", "`cbk_client_init` + `cbk_token_list_stream`, with a transport", APP_STREAM,
         True),
        ("every_rx", "every operation, with a transport", APP_EVERY, True)]


def app_source(app):
    _, _, body, rx = [a for a in APPS if a[0] == app][0]
    return ("/* generated by tools/size_report.py */\n" + APP_HEAD + (APP_SEND if rx else "") +
            APP_OPEN + (APP_INIT_SEND if rx else APP_INIT) + body + "}\n")
NO_MESSAGES = "CBK_TOKEN_NO_MESSAGES"

# The figures before the size work (issue 12), from this script at commit
# f952d37 of main, with the compilers named in docs/size.md. Kept here so the
# published table shows what each target started from.
BEFORE_COMMIT = "f952d37"
BEFORE_FIGURES = {
    ("cortex-m4", "whole", "", "text"): 15910,
    ("cortex-m4", "stream", "", "text"): 9368,
    # no CBK_TOKEN_NO_MESSAGES then: the .rodata with every message
    ("cortex-m4", "stream", "nomsg", "rodata"): 3456,
    ("cortex-m4", "every", "", "text"): 10796,
    ("cortex-m4", "stream_rx", "", "text"): 13668,
    ("cortex-m4", "stream_rx", "nomsg", "rodata"): 4768,
    ("cortex-m4", "every_rx", "", "text"): 15094,
    "rw": 0,
    ("stack", "cortex-m4"): 416,
    ("stack", "cortex-m0plus"): 496,
    ("stack", "rv32imac"): 576,
}


def has_no_messages():
    with open(HEADER) as f:
        return NO_MESSAGES in f.read().split("#ifdef CBK_TOKEN_IMPLEMENTATION")[-1]


def kind_of(sec):
    if sec.startswith(".text"):
        return "text"
    if sec.startswith(".rodata") or sec.startswith(".srodata"):
        return "rodata"
    if sec.startswith(".data") or sec.startswith(".sdata"):
        return "data"
    if sec.startswith(".bss") or sec.startswith(".sbss") or sec.startswith("COMMON"):
        return "bss"
    return None


def compile_variant(t, out, tag, defines):
    """The whole library for target t, CBK_TOKEN_NO_LIBC -Os, with defines."""
    src = os.path.join(out, "lib_%s.c" % tag)
    with open(src, "w") as f:
        f.write("/* generated by tools/size_report.py */\n")
        for d in defines:
            f.write("#define %s\n" % d)
        f.write("#define CBK_TOKEN_IMPLEMENTATION\n#include \"cbk_token.h\"\n")
    obj = os.path.join(out, "%s_%s.o" % (slug(t.name), tag))
    run([t.cc] + t.flags + ["-Os", "-std=c99", "-ffunction-sections", "-fdata-sections"] +
        NOLIBC + ["-I", ROOT, "-c", src, "-o", obj], cwd=out)
    return obj


def link_app(t, out, tag, lib_obj, app):
    """Links application `app` (a key of APPS) against lib_obj with
    --gc-sections; bytes by kind of what came from the library (the image
    less the application's own code and libgcc), and libgcc's bytes."""
    name = app
    src = os.path.join(out, "app_%s.c" % name)
    with open(src, "w") as f:
        f.write(app_source(app))
    app_obj = os.path.join(out, "%s_app_%s_%s.o" % (slug(t.name), name, tag))
    run([t.cc] + t.flags + ["-Os", "-std=c99", "-ffunction-sections", "-fdata-sections"] +
        NOLIBC + ["-I", ROOT, "-c", src, "-o", app_obj], cwd=out)
    elf = os.path.splitext(app_obj)[0] + ".elf"
    p = run([t.cc] + t.flags + ["-Os", "-nostdlib", "-nostartfiles", "-Wl,--gc-sections",
                                "-Wl,-e,cbk_size_app", "-Wl,-Map=" + elf + ".map", app_obj,
                                lib_obj, "-lgcc", "-o", elf], check=False)
    if p.returncode != 0:
        # a freestanding build that still calls the C library: shown, not fatal
        undef = sorted(set(re.findall(r"undefined reference to `([^']+)'", p.stderr)))
        return {"fails": "link fails: " + (", ".join(undef) + " undefined" if undef else
                                           "see tools/size_report.py")}
    image = {"text": 0, "rodata": 0, "data": 0, "bss": 0}
    for line in run([t.tool("readelf"), "-SW", elf]).stdout.split("\n"):
        # [Nr] Name Type Addr Off Size ES Flg ...: the kind from the flags,
        # as the default scripts gather small constants into .sdata on rv32
        m = re.match(r"^\s*\[\s*\d+\]\s+(\S+)\s+(\S+)\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)"
                     r"\s+[0-9a-f]+\s+([A-Za-z]*)\s", line)
        if not m or "A" not in m.group(4) or not kind_of(m.group(1)):
            continue  # not allocated, or the script's own (.persistent, .noinit fill)
        flags = m.group(4)
        kind = ("text" if "X" in flags else "bss" if m.group(2) == "NOBITS" else
                "data" if "W" in flags else "rodata")
        image[kind] += int(m.group(3), 16)
    own = sections(t, app_obj)
    libgcc = {"text": 0, "rodata": 0, "data": 0, "bss": 0}
    with open(elf + ".map") as f:
        text = f.read().split("Linker script and memory map", 1)[-1]
    for m in re.finditer(r"^ (\.[\w.]+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S*libgcc\.a\S*)",
                         text, re.M):
        kind = kind_of(m.group(1))
        if kind:
            libgcc[kind] += int(m.group(3), 16)
    res = {k: image[k] - own[k] - libgcc[k] for k in image}
    res["libgcc"] = sum(libgcc.values())
    return res


def md_collect(out):
    """Everything docs/size.md shows, or (None, reason) when a target's
    compiler is missing."""
    data = {"versions": {}, "rows": {}, "stack": {}, "no_messages": has_no_messages()}
    variants = [("", [])] + ([("nomsg", [NO_MESSAGES])] if data["no_messages"] else [])
    publics = public_functions()
    data["publics"] = publics
    for name, _ in MD_TARGETS:
        t = next(x for x in TARGETS if x.name == name and x.opt == "-Os")
        if not shutil.which(t.cc):
            return None, "%s not found (see the apt-get lines in .ci/run)" % t.cc
        data["versions"][t.cc] = compiler_version(t.cc)
        for tag, defines in variants:
            obj = compile_variant(t, out, tag or "plain", defines)
            s = sections(t, obj)
            s["libgcc"] = None
            data["rows"][(name, "whole", tag)] = s
            for app, _, _, _ in APPS:
                data["rows"][(name, app, tag)] = link_app(t, out, tag or "plain", obj, app)
        # the stack of every public call: the plain whole library's call graph
        obj, ci = compile_lib(t, "nolibc", out)
        nodes, edges = parse_ci(ci)
        ext = ExternalStack(t, [run([t.cc] + t.flags + ["-print-libgcc-file-name"]).stdout
                                .strip()])
        g = Graph(nodes, edges, address_taken(t, obj, set(nodes)), ext)
        data["stack"][name] = {p: g.depth(p) for p in publics if p in nodes}
        data["stack_path_" + name] = g
    return data, None


# The targets: (label, target, row, variant, kind, limit).
MD_GOALS = [
    ("whole library .text", "cortex-m4", "whole", "", "text", 9216),
    ("init + list_stream .text", "cortex-m4", "stream", "", "text", 5120),
    ("init + list_stream, NO_MESSAGES, .rodata", "cortex-m4", "stream", "nomsg", "rodata", 1024),
    ("every operation .text", "cortex-m4", "every", "", "text", 8192),
    ("init + list_stream with a transport .text", "cortex-m4", "stream_rx", "", "text", 5120),
    ("same, NO_MESSAGES, .rodata", "cortex-m4", "stream_rx", "nomsg", "rodata", 1024),
    ("every operation with a transport .text", "cortex-m4", "every_rx", "", "text", 8192),
]


def markdown(data):
    L = []
    say = L.append
    with open(HEADER) as f:
        m = re.search(r'#define CBK_TOKEN_VERSION\s+"([^"]+)"', f.read())
    say("# Code size and stack of cbk_token.h")
    say("")
    say("Generated by `make size` (tools/size_report.py) from cbk_token.h v%s. Do not edit:" %
        (m.group(1) if m else "?"))
    say("`make lint` fails when this file no longer matches the header (it regenerates it")
    say("and compares, when this machine has the compilers named here).")
    say("")
    say("Compilers: " + "; ".join(data["versions"][k] for k in sorted(data["versions"])))
    say("")
    say("Every build: `-Os -std=c99 -ffunction-sections -fdata-sections -DCBK_TOKEN_NO_LIBC "
        "-ffreestanding`,")
    say("linked with `-nostdlib -Wl,--gc-sections` and `-lgcc`. Bytes. \"The whole library\" is "
        "the")
    say("object of one unit with `CBK_TOKEN_IMPLEMENTATION` (every function kept). An "
        "application")
    say("row is what the library adds to a linked image whose only code calls the functions "
        "named")
    say("(its own code left out; libgcc's helpers in their own column). \"Every operation\": "
        "init,")
    say("list, list_stream, list_all, create, update, delete, fetch. Without \"with a "
        "transport\" the")
    say("rows are measured as issue 12 measured them: the send callback is a parameter, so "
        "nothing")
    say("in the image calls the receiver and the linker drops it with the body decoders. \"With "
        "a")
    say("transport\": the image also has a send callback that calls `cbk_response_status`, "
        "`_header`")
    say("and `_body`, as every real transport does: that is what a firmware carries. "
        "`CBK_TOKEN_NO_MESSAGES`")
    say("rows: the same without diagnostic texts and the reason-phrase table.")
    say("")
    rows_def = [("whole", "the whole library (one unit, every function)")] + \
        [(a, label) for a, label, _, _ in APPS]
    for name, title in MD_TARGETS:
        say("## " + title)
        say("")
        say("| what is linked | .text | .rodata | .data | .bss | libgcc |")
        say("|---|---:|---:|---:|---:|---:|")
        for tag, suffix in (("", ""), ("nomsg", ", `CBK_TOKEN_NO_MESSAGES`")):
            for row, label in rows_def:
                r = data["rows"].get((name, row, tag))
                if r is None:
                    say("| %s%s | n/a | n/a | n/a | n/a | n/a |" % (label, suffix))
                    continue
                if "fails" in r:
                    say("| %s%s | %s | | | | |" % (label, suffix, r["fails"]))
                    continue
                say("| %s%s | %s | %s | %s | %s | %s |" % (
                    label, suffix, "{:,}".format(r["text"]), "{:,}".format(r["rodata"]),
                    r["data"], r["bss"], "-" if r["libgcc"] is None else r["libgcc"]))
        say("")
    if not data["no_messages"]:
        say("n/a: the header has no `CBK_TOKEN_NO_MESSAGES` yet.")
        say("")
    say("## Worst-case stack of every public call")
    say("")
    say("Bytes, from GCC's `-fcallgraph-info=su` (each frame as `-fstack-usage` gives it, along "
        "the")
    say("calls the compiler emitted); the user's callbacks are not counted; `~`: the deepest "
        "path")
    say("ends in a libgcc helper whose frame is estimated from its disassembly.")
    say("")
    names = [n for n, _ in MD_TARGETS]
    say("| function | " + " | ".join(MD_SHORT[n] for n in names) + " |")
    say("|---|" + "---:|" * len(names))
    for p in data["publics"]:
        cells = []
        for n in names:
            d = data["stack"][n].get(p)
            cells.append("-" if d is None else "%s%d" % (d[2] + ("*" if any(
                "(cycle)" in x for x in d[1]) else ""), d[0]))
        say("| `%s` | %s |" % (p, " | ".join(cells)))
    say("")
    for n in names:
        worst = max(data["stack"][n].items(), key=lambda kv: kv[1][0])
        path = [x.split("~")[0].split(" (")[0] for x in worst[1][1]]
        say("Deepest on %s: `%s`, %d bytes: %s." % (MD_SHORT[n], worst[0], worst[1][0],
                                                    " > ".join(path)))
        say("")
    say("## Targets (issue 12)")
    say("")
    say("Before: the figures of commit %s, measured the same way (that header had no" %
        BEFORE_COMMIT)
    say("`CBK_TOKEN_NO_MESSAGES`: its .rodata before is the one with every message). The "
        "issue set")
    say("its limits on rows measured without a transport; the rows with one hold the same "
        "limits to")
    say("what a firmware really links.")
    say("")
    say("| target | limit | before | now | |")
    say("|---|---:|---:|---:|---|")
    for label, tname, row, tag, kind, limit in MD_GOALS:
        r = data["rows"].get((tname, row, tag))
        if r is not None and "fails" in r:
            r = None
        b = BEFORE_FIGURES.get((tname, row, tag, kind))
        now = "n/a" if r is None else "{:,}".format(r[kind])
        verdict = "" if r is None else ("met" if r[kind] <= limit else "missed by {:,}".format(
            r[kind] - limit))
        say("| M4 %s | {:,} | %s | %s | %s |".format(limit) % (
            label, "n/a" if b is None else "{:,}".format(b), now, verdict))
    worst_rw = max(r["data"] + r["bss"] for r in data["rows"].values() if "fails" not in r)
    say("| .data + .bss, every row and target | 0 | %d | %d | %s |" % (
        BEFORE_FIGURES.get("rw", 0), worst_rw, "met" if worst_rw == 0 else "missed"))
    for n in names:
        worst = max(v[0] for v in data["stack"][n].values())
        b = BEFORE_FIGURES.get(("stack", n))
        say("| deepest public call, %s | 512 | %s | %d | %s |" % (
            MD_SHORT[n], "n/a" if b is None else b, worst,
            "met" if worst <= 512 else "missed by %d" % (worst - 512)))
    say("")
    return "\n".join(L) + "\n"


def md_check(path, out):
    """0: docs/size.md is current; 1: stale; 4: cannot compare here."""
    try:
        with open(path) as f:
            old = f.read()
    except OSError as e:
        sys.stdout.write("size: %s cannot be read (%s)\n" % (path, e))
        return 1
    m = re.search(r"^Compilers: (.*)$", old, re.M)
    want = sorted(m.group(1).split("; ")) if m else []
    have = []
    for name, _ in MD_TARGETS:
        t = next(x for x in TARGETS if x.name == name and x.opt == "-Os")
        if not shutil.which(t.cc):
            sys.stdout.write("size: not compared: %s not found\n" % t.cc)
            return 4
        have.append(compiler_version(t.cc))
    if sorted(set(have)) != sorted(set(want)):
        sys.stdout.write("size: not compared: %s was made with %s; this machine has %s\n" % (
            os.path.relpath(path), "; ".join(want) or "(no compilers line)",
            "; ".join(sorted(set(have)))))
        return 4
    data, why = md_collect(out)
    if data is None:
        sys.stdout.write("size: not compared: %s\n" % why)
        return 4
    new = markdown(data)
    if new == old:
        sys.stdout.write("size: %s is current\n" % os.path.relpath(path))
        return 0
    import difflib
    sys.stdout.write("size: %s is stale (run `make size` and commit it):\n" %
                     os.path.relpath(path))
    sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                               "committed", "regenerated"))
    return 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "size"))
    ap.add_argument("--require-all", action="store_true",
                    help="a missing cross compiler is an error, not a note")
    ap.add_argument("--strict", action="store_true",
                    help="exit 3 when a Cortex-M4 target is missed")
    ap.add_argument("--top", type=int, default=12)
    ap.add_argument("--md", metavar="FILE", help="also write the published figures to FILE")
    ap.add_argument("--check", metavar="FILE",
                    help="only compare FILE with freshly generated figures (exit 0/1/4)")
    args = ap.parse_args()
    if args.check:
        import tempfile
        tmp = tempfile.mkdtemp(prefix="cbk_size_")
        try:
            return md_check(args.check, tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)

    publics = public_functions()
    lines = header_lines()
    results = {}
    notes = []
    for t in TARGETS:
        if not shutil.which(t.cc):
            msg = "%s: %s not found, left out" % (t.name, t.cc)
            if args.require_all:
                sys.stderr.write("size_report: " + msg + "\n")
                return 1
            notes.append(msg)
            continue
        for config in t.configs:
            obj, ci = compile_lib(t, config, out)
            r = {"t": t, "config": config, "obj": obj}
            r["sec"] = sections(t, obj)
            r["syms"] = symbols(t, obj)
            r["undef"] = undefined(t, obj)
            r["sizes"] = sizeof_client(t, config, out)
            if t.prefix:
                r["ext"], r["link_err"] = runtime_link(t, config, obj, out, publics)
            else:
                r["ext"], r["link_err"] = None, None
            if ci:
                nodes, edges = parse_ci(ci)
                archives = []
                if t.ext_calls:
                    archives.append(run([t.cc] + t.flags + ["-print-libgcc-file-name"]).stdout
                                    .strip())
                    if config == "libc":
                        archives.append(libc_archive(t))
                ext = ExternalStack(t, archives) if archives else None
                g = Graph(nodes, edges, address_taken(t, obj, set(nodes)), ext)
                r["graph"] = g
                r["stack"] = {p: g.depth(p) for p in publics if p in nodes}
            results[t.key(config)] = r

    rep = []
    say = rep.append
    say("cbk_token.h size and stack report")
    with open(HEADER) as f:
        m = re.search(r'#define CBK_TOKEN_VERSION\s+"([^"]+)"', f.read())
    say("header v%s; %d public functions; compilers: %s" % (
        m.group(1) if m else "?", len(publics),
        "; ".join(sorted(set(compiler_version(t.cc) for t in TARGETS if shutil.which(t.cc))))))
    for n in notes:
        say("note: " + n)
    say("")

    # 1. sections
    say("1. The whole library: one unit with CBK_TOKEN_IMPLEMENTATION, every function kept")
    say("   (bytes; flash = .text + .rodata; +rt = compiler-runtime helpers a -nostdlib link adds;")
    say("   libc = what the libc configuration calls from the C library)")
    rows = []
    for key, r in results.items():
        s = r["sec"]
        rt = ""
        if r["ext"] is not None:
            rt_syms = {k: v for k, v in r["ext"].items()
                       if not re.match(r"^(memcpy|memset|strlen|memmove)$", k)}
            rt = str(sum(rt_syms.values()))
        elif r["link_err"]:
            m = re.findall(r"undefined reference to `([^']+)'", r["link_err"])
            rt = "FAILS: " + ",".join(sorted(set(m))) if m else "link failed"
        libc = [u for u in r["undef"] if not u.startswith("__")]
        rows.append([r["t"].name, r["t"].opt, r["config"], s["text"], s["rodata"], s["data"],
                     s["bss"], s["text"] + s["rodata"], rt, r["sizes"][0],
                     ",".join(libc) if libc else "-"])
    say(table(["target", "opt", "config", ".text", ".rodata", ".data", ".bss", "flash", "+rt",
               "sizeof(client)", "libc"], rows,
              ["l", "l", "l", "r", "r", "r", "r", "r", "r", "r", "l"]))
    say("   runtime helpers a -nostdlib link pulls in (nolibc; bytes):")
    for key, r in results.items():
        if r["ext"] is not None and (r["config"] == "nolibc" or "nolibc" not in r["t"].configs):
            helpers = sorted((k, v) for k, v in r["ext"].items()
                             if k not in ("memcpy", "memset", "strlen", "memmove"))
            say("     %-22s %s" % (r["t"].name + " " + r["t"].opt,
                                   ", ".join("%s %d" % kv for kv in helpers) or "none"))
        elif r["config"] == "nolibc" and r["link_err"]:
            m = re.findall(r"undefined reference to `([^']+)'", r["link_err"])
            say("     %-22s link fails: %s undefined" % (r["t"].name + " " + r["t"].opt,
                                                        ", ".join(sorted(set(m)))))
    any_r = next(iter(results.values()), None)
    if any_r:
        say("   RAM per client (%s): sizeof(cbk_client) %d, of which cbk_json %d and cbk_error %d;"
            " plus the work buffer" % (any_r["t"].name, any_r["sizes"][0], any_r["sizes"][1],
                                       any_r["sizes"][2]))
    say("")

    # 2. stack
    stack_keys = [k for k, r in results.items() if "stack" in r]
    say("2. Worst-case stack of every public call (bytes, callbacks excluded; -Os unless")
    say("   marked; columns without \"libc\" are CBK_TOKEN_NO_LIBC builds;")
    say("   ~ = the deepest path ends in a libgcc/libc function, estimated from its disassembly;")
    say("   ? = it ends in a C library function not measured (counted as 0); * = a call cycle)")
    short = {"cortex-m0plus": "m0+", "cortex-m4": "m4", "rv32imac": "rv32"}

    def colname(k):
        r = results[k]
        return (short.get(r["t"].name, r["t"].name) + ("" if r["t"].opt == "-Os" else
                                                        " " + r["t"].opt) +
                (" libc" if r["config"] == "libc" else ""))
    hdr = ["function"] + [colname(k) for k in stack_keys]
    rows = []
    for p in publics:
        row = [p]
        for k in stack_keys:
            d = results[k]["stack"].get(p)
            if d is None:
                row.append("-")
            else:
                mark = d[2] + ("*" if any("(cycle)" in x for x in d[1]) else "")
                row.append("%s%d" % (mark, d[0]))
        rows.append(row)
    say(table(hdr, rows))
    gate = results.get("cortex-m4 -Os nolibc") or results.get("cortex-m4 -Os libc")
    if gate and "stack" in gate:
        g = gate["graph"]
        worst = max(gate["stack"].items(), key=lambda kv: kv[1][0])
        say("")
        say("   deepest path (cortex-m4 -Os %s), %s: %d bytes" % (gate["config"], worst[0],
                                                                  worst[1][0]))
        for fn in worst[1][1]:
            base = fn.split("~")[0].split(" (")[0]
            if base in g.nodes:
                say("     %5d  %-28s %s" % (g.nodes[base][0], base,
                                            os.path.basename(g.nodes[base][2])))
            elif "~" in fn:
                say("    ~%4s  %-28s (outside the library: estimated)" % (fn.split("~")[1], base))
            else:
                say("            %s (outside the library: not counted)" % base)
        sites = sorted(set("%s -> %s" % (s, e) for s, e, _ in g.user_sites))
        say("   user callbacks, excluded: " + "; ".join(sites))
        if g.unresolved:
            say("   WARNING: indirect calls not recognised: %s" % g.unresolved)
        if g.cycles:
            say("   WARNING: call cycles: %s" % sorted(set(" > ".join(c) for c in g.cycles)))
        dyn = [(n, q) for n, (fr, q, w) in g.nodes.items() if q != "static"]
        if dyn:
            say("   WARNING: frames that are not static: %s" % dyn)
    say("")

    # 3. top contributors
    if gate:
        say("3. Top contributors (cortex-m4 -Os %s)" % gate["config"])
        funcs = sorted([(n, s) for n, s, ty in gate["syms"] if ty in "tT"], key=lambda x: -x[1])
        where = {}
        if "graph" in gate:
            for n, (fr, q, w) in gate["graph"].nodes.items():
                where[n] = w.split(":")[-2] if w.count(":") >= 2 else ""
        total = gate["sec"]["text"] or 1
        rows = []
        for n, s in funcs[:args.top]:
            base = re.sub(r"\.(constprop|isra|part)\.\d+$", "", n)
            rows.append([n, s, "%.1f%%" % (100.0 * s / total),
                         where.get(base, ""),
                         gate["graph"].nodes[base][0] if "graph" in gate and base in
                         gate["graph"].nodes else ""])
        if "graph" in gate:
            areas = header_areas(lines)
            by_area = {}
            for n, sz, ty in gate["syms"]:
                base = re.sub(r"\.(constprop|isra|part)\.\d+$", "", n)
                node = gate["graph"].nodes.get(base) or gate["graph"].nodes.get(n)
                if ty not in "tT" or not node:
                    continue
                m = re.search(r":(\d+):\d+$", node[2])
                a = area_of(areas, int(m.group(1))) if m else "?"
                by_area[a] = by_area.get(a, 0) + sz
            say("   .text by the implementation's sections (its own banners):")
            say(table(["section", "bytes", "of .text"],
                      [[a, b, "%.1f%%" % (100.0 * b / total)]
                       for a, b in sorted(by_area.items(), key=lambda kv: -kv[1])]))
        say("   largest functions (static functions called once are inlined into their caller):")
        say(table(["function", "bytes", "of .text", "line", "frame"], rows,
                  ["l", "r", "r", "r", "r"]))
        owners = table_owners(gate["t"], gate["obj"])
        consts = sorted([(n, s) for n, s, ty in gate["syms"] if ty in "rRdD"], key=lambda x: -x[1])
        say("   largest constant objects:")
        rows = []
        for n, s in consts[:6]:
            rows.append([n, s, ", ".join(sorted(owners.get(n, []))) or "-"])
        say(table(["object", "bytes", "used by"], rows, ["l", "r", "l"]))
        texts = string_literals(gate["t"], gate["obj"])
        msgs = fail_messages(lines)
        msg_bytes = sum(len(m) + 1 for m in set(msgs))
        str_by = {}
        p = run([gate["t"].tool("objdump"), "-h", gate["obj"]])
        for line in p.stdout.split("\n"):
            m = re.match(r"^\s*\d+\s+\.rodata\.(?:(\S+)\.)?str1\.\d+\s+([0-9a-f]+)\s", line)
            if m:
                fn = re.sub(r"\.(constprop|isra|part)\.\d+$", "", m.group(1) or "(shared)")
                str_by[fn] = str_by.get(fn, 0) + int(m.group(2), 16)
        str_sec = sum(str_by.values())
        say("   string literals: %d bytes in %d strings (%d%% of .rodata); %d of them are the"
            " diagnostic" % (str_sec, len(texts), 100 * str_sec // max(1, gate["sec"]["rodata"]),
                             len(set(msgs))))
        say("   texts passed to cbk__fail/cbk__fail_n (about %d bytes). By function:" % msg_bytes)
        say(table(["function", "string bytes"],
                  [[n, b] for n, b in sorted(str_by.items(), key=lambda kv: -kv[1])[:8]]))
        if "graph" in gate:
            frames = sorted(gate["graph"].nodes.items(), key=lambda kv: -kv[1][0])[:8]
            say("   deepest frames (bytes of one function's own frame):")
            say(table(["function", "frame", "line"],
                      [[n, fr, w.split(":")[-2] if w.count(":") >= 2 else ""]
                       for n, (fr, q, w) in frames], ["l", "r", "r"]))
        say("")

    # 4. the embedded example
    m4 = next((t for t in TARGETS if t.name == "cortex-m4" and shutil.which(t.cc)), None)
    emb = embedded_footprint(out, m4) if m4 else None
    if emb:
        say("4. examples/embedded on cortex-m4 -Os, CBK_TOKEN_NO_LIBC, --gc-sections")
        say("   (an application that only streams tokens; platform calls stubbed; cbk_token.h's")
        say("   implementation is compiled in main.c, shared string literals counted with it)")
        rows = []
        tot = {"text": 0, "rodata": 0, "data": 0, "bss": 0}
        for origin, s in sorted(emb["by"].items()):
            rows.append([origin, s["text"], s["rodata"], s["data"], s["bss"]])
            for k in tot:
                tot[k] += s[k]
        rows.append(["total", tot["text"], tot["rodata"], tot["data"], tot["bss"]])
        say(table(["from", ".text", ".rodata", ".data", ".bss"], rows))
        if emb["bss"]:
            say("   .bss: " + ", ".join(emb["bss"]))
        lib = emb["by"].get("cbk_token.h")
        if lib and gate:
            say("   the library's part is %d of the whole library's %d bytes of .text: --gc-sections"
                " drops" % (lib["text"], gate["sec"]["text"]))
            say("   only what no path from cbk_token_list_stream reaches")
        if emb["stack"]:
            (d, path, est), g = emb["stack"]
            say("   worst-case stack of the task (cbk_embedded_task), callbacks included, the")
            say("   platform's socket and console functions not: %d bytes" % d)
            for fn in path:
                base = fn.split("~")[0].split(" (")[0].rstrip("?")
                if base in g.nodes:
                    say("     %5d  %-28s %s" % (g.nodes[base][0], base,
                                                os.path.basename(g.nodes[base][2])))
                elif "~" in fn:
                    say("    ~%4s  %-28s (libgcc, estimated)" % (fn.split("~")[1], base))
                else:
                    say("            %s (outside: not counted)" % base)
            if g.user_sites:
                say("   WARNING: indirect calls not resolved: %s" %
                    sorted(set("%s -> %s" % (a, b) for a, b, _ in g.user_sites)))
        say("")

    # 5. targets
    missed = 0
    if gate:
        say("5. Targets (cortex-m4, thumb, -Os, %s)" % gate["config"])
        s = gate["sec"]

        def verdict(ok, what):
            return "met" if ok else "MISSED %s" % what
        text_ok = s["text"] <= TARGET_TEXT
        flash = s["text"] + s["rodata"]
        say("   whole library .text <= %d: %d -> %s; with .rodata %d (%s)" % (
            TARGET_TEXT, s["text"],
            verdict(text_ok, "by %d bytes (%.2fx)" % (s["text"] - TARGET_TEXT,
                                                      s["text"] / float(TARGET_TEXT))),
            flash, "met" if flash <= TARGET_TEXT else "over by %d" % (flash - TARGET_TEXT)))
        rw = s["data"] + s["bss"]
        say("   nothing in .data/.bss: %d bytes -> %s" % (rw, verdict(rw == 0, "by %d" % rw)))
        if "stack" in gate:
            worst = max(gate["stack"].items(), key=lambda kv: kv[1][0])
            ok = worst[1][0] <= TARGET_STACK
            say("   no public call deeper than %d: deepest %s %d -> %s" % (
                TARGET_STACK, worst[0], worst[1][0],
                verdict(ok, "by %d" % (worst[1][0] - TARGET_STACK))))
            missed += 0 if ok else 1
        missed += (0 if text_ok else 1) + (0 if rw == 0 else 1)
    text = "\n".join(rep) + "\n"
    sys.stdout.write(text)
    with open(os.path.join(out, "report.txt"), "w") as f:
        f.write(text)
    if args.md:
        mdout = os.path.join(out, "md")
        os.makedirs(mdout, exist_ok=True)
        data, why = md_collect(mdout)
        if data is None:
            sys.stderr.write("size_report: %s not written: %s\n" % (args.md, why))
            return 1
        with open(args.md, "w") as f:
            f.write(markdown(data))
        sys.stdout.write("size: wrote %s\n" % args.md)
    return 3 if (args.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
