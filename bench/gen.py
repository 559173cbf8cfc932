#!/usr/bin/env python3
"""Generates realistic partner-user-token list responses for the benchmark.

    python3 bench/gen.py OUTDIR

writes OUTDIR/list-{1k,64k,1m,16m}.json  ({"items":[...],"cursor":"..."})
and    OUTDIR/list-{1k,64k,1m,16m}.jsonl ({"type":"item","data":{...}} per line)
plus   OUTDIR/stats.txt (item count, largest item, largest kept strings).

Deterministic (fixed seed), Python standard library only. The items look
like what the API returns (JSON.stringify output: compact, keys in the
order the server writes them): cuid-style ids ("cm" + 23 base-36 chars),
names and descriptions with some escapes (\\" \\n \\t \\\\ \\uXXXX) and some
non-ASCII text (2-, 3- and 4-byte UTF-8), a meta object on most items,
and millisecond timestamps.
"""
import json
import os
import random
import sys

SIZES = [("1k", 1 << 10), ("64k", 64 << 10), ("1m", 1 << 20), ("16m", 16 << 20)]

B36 = "0123456789abcdefghijklmnopqrstuvwxyz"
WORDS = ("support widget prod staging mobile kiosk firmware sensor gateway dashboard "
         "nightly backup reporting billing edge device fleet partner tenant demo "
         "customer portal assistant chat voice analytics ingest worker canary").split()
UNICODE = ["café", "naïve", "Zürich", "São Paulo", "東京", "München", "Ελλάδα", "🚀", "✓ ok",
           "Kraków", "日本語のテスト", "emoji 😀", "Ω≈ç√", "façade"]
ESCAPED = ['say "hi"', "line1\nline2", "tab\there", "C:\\keys\\device", "ctl\u0001x", "q\"/\\"]


def cuid(rng, t):
    # cm + base36 time-ish + counter + random, 25 chars total like real ids
    s = "cm"
    v = t
    ts = ""
    while v:
        ts = B36[v % 36] + ts
        v //= 36
    s += ts[-8:]
    s += "".join(rng.choice(B36) for _ in range(25 - len(s)))
    return s


def phrase(rng, lo, hi):
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi)))


def text(rng, lo, hi):
    t = phrase(rng, lo, hi)
    r = rng.random()
    if r < 0.25:
        t += " " + rng.choice(UNICODE)
    elif r < 0.40:
        t += " " + rng.choice(ESCAPED)
    return t


def item(rng, i, base_ms):
    created = base_ms + i * 3_600_000 + rng.randint(0, 3_599_999)
    updated = created + (rng.randint(0, 86_400_000) if rng.random() < 0.6 else 0)
    it = {"id": cuid(rng, created)}
    if rng.random() < 0.95:
        it["name"] = text(rng, 1, 4).capitalize()
    r = rng.random()
    if r < 0.70:
        it["description"] = text(rng, 4, 16).capitalize() + "."
    elif r < 0.80:
        it["description"] = None
    if rng.random() < 0.85:
        meta = {"env": rng.choice(["prod", "staging", "dev"]),
                "owner": "user-%d" % rng.randint(1, 5000)}
        if rng.random() < 0.5:
            meta["device"] = "dev-%06x" % rng.randint(0, 0xFFFFFF)
        if rng.random() < 0.3:
            meta["tags"] = [rng.choice(WORDS) for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.2:
            meta["note"] = rng.choice(UNICODE + ESCAPED)
        if rng.random() < 0.2:
            meta["quota"] = {"daily": rng.randint(100, 100000), "burst": rng.randint(1, 50)}
        it["meta"] = meta
    it["createdAt"] = created
    it["updatedAt"] = updated
    return it


def dumps(v):
    # JSON.stringify: compact, non-ASCII kept as UTF-8, control chars as \\uXXXX
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "build/bench"
    os.makedirs(out, exist_ok=True)
    stats = []
    for tag, target in SIZES:
        rng = random.Random(0xCB4 + target)
        base_ms = 1_700_000_000_000
        items, size, largest, kept = [], 20, 0, 0
        while True:
            s = dumps(item(rng, len(items), base_ms))
            if items and size + len(s.encode()) + 1 > target:
                break
            items.append(s)
            size += len(s.encode()) + 1
            largest = max(largest, len(s.encode()))
            d = json.loads(s)
            k = sum(len(d[f].encode()) + 1 for f in ("id", "name", "description") if d.get(f))
            if "meta" in d:
                k += len(dumps(d["meta"]).encode()) + 1
            kept = max(kept, k)
        cursor = json.loads(items[-1])["id"]
        body = '{"items":[' + ",".join(items) + '],"cursor":"' + cursor + '"}'
        with open(os.path.join(out, "list-%s.json" % tag), "wb") as f:
            f.write(body.encode())
        with open(os.path.join(out, "list-%s.jsonl" % tag), "wb") as f:
            f.write("".join('{"type":"item","data":%s}\n' % s for s in items).encode())
        stats.append("%s items=%d json_bytes=%d largest_item=%d largest_kept=%d"
                     % (tag, len(items), len(body.encode()), largest, kept))
    with open(os.path.join(out, "stats.txt"), "w") as f:
        f.write("\n".join(stats) + "\n")
    print("\n".join(stats))


if __name__ == "__main__":
    main()
