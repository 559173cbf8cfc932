#!/usr/bin/env python3
"""mock_api.py - local stand-in for the ChatBotKit partner user token API.

Python 3.11 standard library only.  Used by the cbk_token tests.

USAGE
    python3 tests/mock_api.py [--host 127.0.0.1|::1] [--port 0] [--port-file PATH]
                              [--secret sk-test-secret] [--clock-start MS]
                              [--seed N] [--default-take 20]
                              [--last-cursor last|empty] [--max-seconds 600]
                              [--verbose]

    After binding it prints exactly one line "PORT <n>" on stdout (and writes
    <n> to --port-file).  SIGTERM/SIGINT or --max-seconds end it with exit 0.

API (any prefix before /api/v1 or /v1 is accepted, ids are percent-decoded)
    GET  .../v1/partner/user/{userId}/token/list       ?cursor&order&take&meta.K=V
    POST .../v1/partner/user/{userId}/token/create     {name?,description?,meta?,config?}
    POST .../v1/partner/user/{userId}/token/{id}/update
    POST .../v1/partner/user/{userId}/token/{id}/delete
    Auth: "Authorization: Bearer <secret>" else 401 {"message","code":"UNAUTHORIZED"}.
    POST bodies must be a JSON object sent as Content-Type: application/json
    (an empty body is not JSON: 400).  Errors are {"message":..,"code":..}
    with BAD_REQUEST (400), UNAUTHORIZED (401), NOT_FOUND (404),
    METHOD_NOT_ALLOWED (405), CONTENT_TOO_LARGE (413), INTERNAL_ERROR (500).

    list: order desc (default) sorts by (createdAt, id) descending, asc
    ascending.  take defaults to 20 (--default-take), must be 1..100.  The
    page starts right after the token whose id == cursor (in the requested
    order; 400 if no such token of that user; an empty cursor= means none).
    Response {"items":[...],"cursor":c}: c is the id of the page's last item,
    also on the last page ("last" mode, like the real API), or "" on the last
    page in "empty" mode; "" whenever the page is empty.
    stream (Accept contains application/jsonl): every matching item after the
    cursor in the requested order, take is validated but IGNORED (no paging);
    chunked, one {"type":"item","data":{...}}\\n line per chunk.

CONTROL (no auth, never recorded, never faulted)
    GET  /__mock/requests        -> [{"seq","method","path","version","headers":[[k,v]..],
                                      "body_b64","op","fault","time_ms"}...]
    POST /__mock/clear-requests  -> {"ok":true}
    POST /__mock/reset           -> clears requests, faults, store, config, clock
    POST /__mock/faults          body: one spec or a list of specs, APPENDED to the queue
    GET  /__mock/faults          -> the specs still queued
    POST /__mock/seed            {"user","count","name_prefix"?,"meta"?} -> {"ids":[...]}
                                 (name = prefix + index; ids in creation order)
    GET/POST /__mock/config      {"last_cursor":"last"|"empty","default_take":n}
    GET  /__mock/store           -> {user: [token incl. "token" and "config"]}
    GET  /__mock/stats           -> {"connections": TCP connections accepted (any),
                                     "api_connections": those that carried >= 1 API request,
                                     "requests": {op: API requests received},
                                     "answered": {op: API responses written whole},
                                     "max_requests_per_connection": n,
                                     "server_ms": time spent on API requests, from the
                                     request read to its response written (a float)}
                                 op is list|stream|create|update|delete, "other" for an
                                 unknown route; reset and clear-requests zero it all.

CONNECTIONS: HTTP/1.1 persistent connections (HTTP/1.0 with "Connection:
keep-alive" too) stay open until the client closes, sends "Connection: close",
60 s pass idle, or a fault/protocol error closes them ("Connection: close" is
sent then). Every accepted socket has TCP_NODELAY, and a response is written
with one sendall of head and body (a chunked body: in pieces of up to 256 KiB
after a head-and-first-piece write), so a keep-alive client never waits for a
delayed ACK (Nagle) between head and body.

FAULTS: each API request (any non-/__mock/ request) looks at the HEAD of the
queue only; if the head has no "match", or "match" (a string or a list) names
the request's operation (list|stream|create|update|delete; "" for unknown
routes), the head is popped and applied, otherwise the request is served
normally.  Keys combine:
    "close": true                 close the connection without any response
    "delay_ms": M                 sleep before answering
    "status": S, "body": str|json, "body_b64": b64, "content_type": ct,
                                  reply S with that body instead (default body {}
                                  with application/json; charset=utf-8)
    "apply": true                 with status/huge: still perform the operation
    "huge": N, "huge_kind": "items"|"name"
                                  200 valid JSON of about N bytes, chunked: list ->
                                  {"items":[...],"cursor":""}, stream -> JSONL,
                                  create -> huge "token", update/delete -> huge "id";
                                  kind "name" puts N bytes into one item's name
    "synthetic_items": N          200 with exactly N synthetic items, rendered from
                                  one template in batches and sent chunked in big
                                  chunks (fast enough for a million): stream -> N
                                  JSONL lines, any other operation ->
                                  {"items":[...],"cursor":C} (C: the fault's
                                  "cursor", else ""). Item i (0-based) is {"id":
                                  "cs"+i as 23 digits,"name":"item <i>","createdAt":
                                  1700000000000+i,"updatedAt":1700000000000+i}.
                                  "apply" is ignored; the store is not touched.
    "content_type": ct            override Content-Type of whatever is sent
    "headers": {k: v}             extra response headers
    "cursor": str                 force the list "cursor" value
    "last_cursor": "last"|"empty" last-page cursor mode for this request only
    "chunk_bytes": B              send the body chunked, B payload bytes per chunk
    "truncate": N                 full headers (true Content-Length) but only the
                                  first N payload bytes (chunked: N decoded bytes,
                                  the final 0-chunk only when N exceeds the body),
                                  then a clean close (FIN)
    "drop_after": N               like truncate, then reset the socket (SO_LINGER 0)
    "drip_ms": M, "drip_bytes": B write the whole response (headers too) B bytes
                                  at a time with M ms sleeps
"""
import argparse
import base64
import http.server
import json
import random
import re
import signal
import socket
import string
import struct
import sys
import threading
import time
import urllib.parse

JSON_CT = "application/json; charset=utf-8"
MAX_TAKE = 100
MAX_BODY = 1 << 20
ROUTE = re.compile(r"^(?:.*?)/(?:api/)?v1/partner/user/(?P<user>[^/]+)/token/"
                   r"(?:(?P<op>list|create)|(?P<tok>[^/]+)/(?P<op2>update|delete))$")
ALNUM = string.ascii_lowercase + string.digits


class ApiError(Exception):
    def __init__(self, status, message, code):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def bad(msg):
    return ApiError(400, msg, "BAD_REQUEST")


class Reply:
    """A response before it hits the wire: bytes body, or chunks when chunked."""

    def __init__(self, status, body=b"", content_type=JSON_CT, chunks=None, headers=None):
        self.status, self.body, self.chunks = status, body, chunks
        self.content_type = content_type
        self.headers = list(headers or [])


def json_bytes(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_reply(status, obj, headers=None):
    return Reply(status, json_bytes(obj), headers=headers)


def err_reply(e):
    return json_reply(e.status, {"message": e.message, "code": e.code})


class State:
    """Everything mutable, behind one lock."""

    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.store = {}        # user -> {id: token dict}
        self.ordered_cache = {}  # (user, order) -> (tokens in list order, {id: position})
        self.faults = []
        self.requests = []
        self.seq = 0
        self.clock = None
        self.rng = random.Random(self.args.seed) if self.args.seed is not None else random.SystemRandom()
        self.config = {"last_cursor": self.args.last_cursor, "default_take": self.args.default_take}
        self.clear_stats()

    def clear_stats(self):
        """Zeroes the counters of /__mock/stats (a new generation: open connections count anew)."""
        self.generation = getattr(self, "generation", 0) + 1
        self.stats = {"connections": 0, "api_connections": 0, "requests": {}, "answered": {},
                      "max_requests_per_connection": 0, "server_ms": 0.0}

    def count_request(self, conn, op):
        """Counts one API request received on conn (a Handler); call with the lock held."""
        st = self.stats
        if conn.stats_generation != self.generation:
            conn.stats_generation, conn.stats_requests = self.generation, 0
            st["api_connections"] += 1
        conn.stats_requests += 1
        st["max_requests_per_connection"] = max(st["max_requests_per_connection"], conn.stats_requests)
        name = op or "other"
        st["requests"][name] = st["requests"].get(name, 0) + 1

    def count_answered(self, op, started):
        """Counts a response written whole to a request whose handling began at started."""
        ms = (time.perf_counter() - started) * 1000.0
        with self.lock:
            name = op or "other"
            self.stats["answered"][name] = self.stats["answered"].get(name, 0) + 1
            self.stats["server_ms"] += ms

    def tick(self):
        """Next timestamp in ms; strictly increasing across mutations."""
        if self.args.clock_start is not None:
            self.clock = self.args.clock_start if self.clock is None else self.clock + 1
        else:
            now = int(time.time() * 1000)
            self.clock = now if self.clock is None else max(now, self.clock + 1)
        return self.clock

    def new_id(self):
        return "cm" + "".join(self.rng.choice(ALNUM) for _ in range(23))

    def new_secret(self):
        return "sk-" + "".join(self.rng.choice(string.ascii_letters + string.digits) for _ in range(40))

    def ordered(self, user, order):
        """user's tokens sorted for a list (see select), cached until the next create/delete."""
        key = (user, order)
        if key not in self.ordered_cache:
            items = sorted(self.store.get(user, {}).values(), key=lambda t: (t["createdAt"], t["id"]),
                           reverse=(order == "desc"))
            self.ordered_cache[key] = (items, {t["id"]: i for i, t in enumerate(items)})
        return self.ordered_cache[key]

    def forget_order(self):
        self.ordered_cache = {}

    def create(self, user, fields):
        now = self.tick()
        tid = self.new_id()
        tok = {"id": tid, "token": self.new_secret(), "createdAt": now, "updatedAt": now}
        tok.update(fields)
        self.store.setdefault(user, {})[tid] = tok
        self.forget_order()
        return tok


def public_item(t):
    item = {"id": t["id"]}
    for k in ("name", "description", "meta"):
        if k in t:
            item[k] = t[k]
    item["createdAt"], item["updatedAt"] = t["createdAt"], t["updatedAt"]
    return item


def check_text(value, what):
    if not isinstance(value, str):
        raise bad(f"{what} must be a string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise bad(f"{what} is not valid Unicode") from None
    return value


def validate_fields(body):
    """Checks a create/update body; returns the stored fields."""
    out = {}
    for k in ("name", "description"):
        if k in body:
            out[k] = check_text(body[k], k)
    if "meta" in body:
        meta = body["meta"]
        if not isinstance(meta, dict):
            raise bad("meta must be an object")
        for k, v in meta.items():
            check_text(k, "meta key")
            check_text(v, f"meta.{k}")
        out["meta"] = dict(meta)
    if "config" in body:
        if not isinstance(body["config"], dict):
            raise bad("config must be an object")
        out["config"] = body["config"]
    return out


def parse_json_object(raw):
    def no_const(c):
        raise ValueError(c)
    try:
        obj = json.loads(raw.decode("utf-8"), parse_constant=no_const)
    except (UnicodeDecodeError, ValueError):
        raise bad("Request body is not valid JSON") from None
    if not isinstance(obj, dict):
        raise bad("Request body must be a JSON object")
    return obj


def parse_list_query(query, default_take):
    cursor, order, take, meta = None, "desc", default_take, {}
    for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True):
        if k == "cursor":
            cursor = v or None
        elif k == "order":
            if v not in ("asc", "desc"):
                raise bad("order must be asc or desc")
            order = v
        elif k == "take":
            if not re.fullmatch(r"[0-9]{1,9}", v) or not 1 <= int(v) <= MAX_TAKE:
                raise bad(f"take must be an integer from 1 to {MAX_TAKE}")
            take = int(v)
        elif k.startswith("meta."):
            if len(k) == 5:
                raise bad("empty meta filter key")
            meta[k[5:]] = v
    return cursor, order, take, meta


def select(state, user, cursor, order, meta):
    """(tokens after cursor in the given order, meta-filtered; how many there are). Sorted by
    (createdAt, id), descending for desc; the cursor is a token id of that user."""
    items, position = state.ordered(user, order)
    start = 0
    if cursor is not None:
        if cursor not in position:
            raise bad("Invalid cursor")
        start = position[cursor] + 1
    if not meta:
        return items, start  # a view: items[start:] without the copy
    picked = [t for t in items[start:] if all(t.get("meta", {}).get(k) == v for k, v in meta.items())]
    return picked, 0


def huge_chunks(op, n, kind):
    """Yields a valid JSON (or JSONL) document of about n bytes."""
    piece = 16384
    if kind == "name" or op in ("create", "update", "delete"):
        fill = lambda: (b"x" * min(piece, r) for r in range(n, 0, -piece))
        if op == "create":
            yield b'{"id":"cmhugehugehugehugehugehug","token":"'
            yield from fill()
            yield b'","createdAt":1700000000000}'
        elif op in ("update", "delete"):
            yield b'{"id":"'
            yield from fill()
            yield b'"}'
        else:
            yield b'{"type":"item","data":{"id":"cmhuge","name":"' if op == "stream" \
                else b'{"items":[{"id":"cmhuge","name":"'
            yield from fill()
            yield b'","createdAt":1700000000000,"updatedAt":1700000000000}}\n' if op == "stream" \
                else b'","createdAt":1700000000000,"updatedAt":1700000000000}],"cursor":""}'
        return
    if op != "stream":
        yield b'{"items":['
    sent, i, buf, size = 0, 0, [], 0
    while sent < n or i == 0:
        item = json_bytes({"id": "cm%023d" % i, "name": "item %d" % i,
                           "createdAt": 1700000000000 + i, "updatedAt": 1700000000000 + i})
        line = (b'{"type":"item","data":' + item + b'}\n') if op == "stream" \
            else ((b"," if i else b"") + item)
        buf.append(line)
        sent, size, i = sent + len(line), size + len(line), i + 1
        if size >= piece:
            yield b"".join(buf)
            buf, size = [], 0
    if buf:
        yield b"".join(buf)
    if op != "stream":
        yield b'],"cursor":""}'


def synthetic_chunks(op, n, cursor=""):
    """Yields exactly n synthetic items (see "synthetic_items") in ~256 KiB chunks."""
    item = b'{"id":"cs%023d","name":"item %d","createdAt":%d,"updatedAt":%d}'
    stream = op == "stream"
    tmpl = (b'{"type":"item","data":' + item + b'}\n') if stream else item
    sep = b"" if stream else b","
    if not stream:
        yield b'{"items":['
    base, batch = 1700000000000, 2048
    for start in range(0, n, batch):
        part = sep.join(tmpl % (i, i, base + i, base + i) for i in range(start, min(n, start + batch)))
        yield (sep + part) if start and not stream else part
    if not stream:
        yield b'],"cursor":' + json_bytes(cursor) + b"}"


class Writer:
    """Coalesces a response into few writes: one sendall for head and body unless it
    exceeds FLUSH_AT bytes (then pieces of about that size); a drip fault instead
    writes every drip_bytes with drip_ms sleeps."""
    FLUSH_AT = 256 * 1024

    def __init__(self, wfile, drip_ms=None, drip_bytes=None):
        self.wfile, self.drip_ms, self.drip_bytes = wfile, drip_ms, drip_bytes
        self.parts, self.size = [], 0

    def add(self, data):
        self.parts.append(data)
        self.size += len(data)
        if self.size >= self.FLUSH_AT:
            self.flush()

    def flush(self):
        data, self.parts, self.size = b"".join(self.parts), [], 0
        if not (self.drip_bytes or self.drip_ms):
            if data:
                self.wfile.write(data)
            return
        step = max(1, int(self.drip_bytes or 1))
        for i in range(0, len(data), step):
            self.wfile.write(data[i:i + step])
            time.sleep((self.drip_ms or 0) / 1000.0)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cbk-mock/1.0"
    sys_version = ""
    timeout = 60

    @property
    def state(self):
        return self.server.state

    def setup(self):
        super().setup()
        # no Nagle: a keep-alive client must not wait for a delayed ACK between writes
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.stats_generation, self.stats_requests = None, 0
        with self.state.lock:
            self.state.stats["connections"] += 1

    def log_message(self, fmt, *args):
        if self.server.state.args.verbose:
            sys.stderr.write("mock_api: %s - %s\n" % (self.address_string(), fmt % args))

    def send_error(self, code, message=None, explain=None):
        """Protocol-level errors (bad request line, headers...) as JSON, then close."""
        self.close_connection = True
        reason = self.responses.get(code, ("Error",))[0]
        self.send_reply(json_reply(code, {"message": message or reason, "code": "HTTP_%d" % code}), {})

    def __getattr__(self, name):  # every do_METHOD goes to one dispatcher
        if name.startswith("do_"):
            return self.dispatch
        raise AttributeError(name)

    # ---- request reading -------------------------------------------------

    def read_body(self):
        """Returns the body bytes, or raises ApiError (connection then closes)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts, total = [], 0
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    self.close_connection = True
                    raise bad("Malformed chunked body") from None
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                total += size
                if total > MAX_BODY:
                    self.close_connection = True
                    raise ApiError(413, "Request body too large", "CONTENT_TOO_LARGE")
                parts.append(self.rfile.read(size))
                self.rfile.readline(3)
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        if not length.strip().isdigit():
            self.close_connection = True
            raise bad("Invalid Content-Length")
        length = int(length)
        if length > MAX_BODY:
            remaining = length
            while remaining > 0 and remaining <= 64 * MAX_BODY:
                got = self.rfile.read(min(65536, remaining))
                if not got:
                    break
                remaining -= len(got)
            self.close_connection = self.close_connection or remaining > 0
            raise ApiError(413, "Request body too large", "CONTENT_TOO_LARGE")
        body = self.rfile.read(length)
        if len(body) < length:
            self.close_connection = True
        return body

    # ---- dispatch ---------------------------------------------------------

    def dispatch(self):
        try:
            try:
                body = self.read_body()
                body_error = None
            except ApiError as e:
                body, body_error = b"", e
            path, _, query = self.path.partition("?")
            if path.startswith("/__mock/"):
                if body_error is not None:
                    return self.send_reply(err_reply(body_error), {})
                return self.send_reply(self.control(path, query, body), {})
            started = time.perf_counter()
            route = ROUTE.match(path)
            op = self.operation(route)
            fault = self.take_fault(op, body)
            if fault.get("close"):
                self.close_connection = True
                return
            if fault.get("delay_ms"):
                time.sleep(fault["delay_ms"] / 1000.0)
            if body_error is not None:
                reply = err_reply(body_error)
            elif "status" in fault or "huge" in fault or "synthetic_items" in fault:
                if fault.get("apply") and "synthetic_items" not in fault:
                    self.api(route, op, query, body, fault)
                reply = self.fault_reply(fault, op)
            else:
                reply = self.api(route, op, query, body, fault)
            if self.send_reply(reply, fault):
                self.state.count_answered(op, started)
        except (ConnectionError, socket.timeout, BrokenPipeError):
            self.close_connection = True
        except Exception as e:  # never let a request kill the server
            if self.state.args.verbose:
                import traceback
                traceback.print_exc()
            self.close_connection = True
            try:
                self.send_reply(json_reply(500, {"message": "Internal error: %s" % e,
                                                 "code": "INTERNAL_ERROR"}), {})
            except OSError:
                pass

    def operation(self, route):
        if route is None:
            return ""
        if route.group("op") == "list":
            return "stream" if "application/jsonl" in self.headers.get("Accept", "").lower() else "list"
        return route.group("op") or route.group("op2")

    def take_fault(self, op, body):
        with self.state.lock:
            fault = {}
            if self.state.faults:
                match = self.state.faults[0].get("match")
                names = match if isinstance(match, list) else [match]
                if match is None or op in names:
                    fault = self.state.faults.pop(0)
            self.state.count_request(self, op)
            self.state.seq += 1
            self.state.requests.append({
                "seq": self.state.seq, "method": self.command, "path": self.path,
                "version": self.request_version,
                "headers": [[k, v] for k, v in self.headers.items()],
                "body_b64": base64.b64encode(body).decode("ascii"),
                "op": op, "fault": fault or None, "time_ms": int(time.time() * 1000)})
            return fault

    def fault_reply(self, fault, op):
        if "synthetic_items" in fault:
            ct = "application/jsonl" if op == "stream" else JSON_CT
            return Reply(200, None, ct, chunks=synthetic_chunks(op, max(0, int(fault["synthetic_items"])),
                                                                str(fault.get("cursor", ""))))
        if "huge" in fault:
            ct = "application/jsonl" if op == "stream" else JSON_CT
            return Reply(200, None, ct, chunks=huge_chunks(op, int(fault["huge"]),
                                                           fault.get("huge_kind", "items")))
        if "body_b64" in fault:
            body = base64.b64decode(fault["body_b64"])
        elif isinstance(fault.get("body"), str):
            body = fault["body"].encode("utf-8")
        else:
            body = json_bytes(fault.get("body", {}))
        return Reply(int(fault["status"]), body)

    # ---- the API ----------------------------------------------------------

    def api(self, route, op, query, body, fault):
        try:
            if route is None:
                raise ApiError(404, "Not Found", "NOT_FOUND")
            want = "GET" if op in ("list", "stream") else "POST"
            if self.command != want:
                r = json_reply(405, {"message": "Method Not Allowed", "code": "METHOD_NOT_ALLOWED"})
                r.headers.append(("Allow", want))
                return r
            self.check_auth()
            user = urllib.parse.unquote(route.group("user"))
            if op in ("list", "stream"):
                return self.api_list(user, op, query, fault)
            ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if ctype != "application/json":
                raise bad("Content-Type must be application/json")
            obj = parse_json_object(body)
            fields = validate_fields(obj) if op != "delete" else {}
            with self.state.lock:
                if op == "create":
                    tok = self.state.create(user, fields)
                    return json_reply(200, {"id": tok["id"], "token": tok["token"],
                                            "createdAt": tok["createdAt"]})
                tid = urllib.parse.unquote(route.group("tok"))
                tokens = self.state.store.get(user, {})
                if tid not in tokens:
                    raise ApiError(404, "Token not found", "NOT_FOUND")
                if op == "delete":
                    del tokens[tid]
                    self.state.forget_order()
                    self.state.tick()
                else:
                    tokens[tid].update(fields)
                    tokens[tid]["updatedAt"] = self.state.tick()
                return json_reply(200, {"id": tid})
        except ApiError as e:
            return err_reply(e)

    def check_auth(self):
        values = self.headers.get_all("Authorization") or []
        expected = self.state.args.secret
        if len(values) == 1:
            scheme, _, cred = values[0].partition(" ")
            if scheme.lower() == "bearer" and cred == expected:
                return
        raise ApiError(401, "Unauthorized", "UNAUTHORIZED")

    def api_list(self, user, op, query, fault):
        with self.state.lock:
            cursor, order, take, meta = parse_list_query(query, self.state.config["default_take"])
            items, start = select(self.state, user, cursor, order, meta)
            mode = fault.get("last_cursor", self.state.config["last_cursor"])
            if op == "stream":
                lines = [json_bytes({"type": "item", "data": public_item(t)}) + b"\n"
                         for t in items[start:]]
                return Reply(200, None, "application/jsonl", chunks=lines)
            page = items[start:start + take]
        next_cursor = page[-1]["id"] if page else ""
        if len(items) - start <= take and mode == "empty":
            next_cursor = ""
        if "cursor" in fault:
            next_cursor = fault["cursor"]
        return json_reply(200, {"items": [public_item(t) for t in page], "cursor": next_cursor})

    # ---- control ----------------------------------------------------------

    def control(self, path, query, body):
        st = self.state
        try:
            obj = parse_json_object(body) if self.command == "POST" and body.strip() \
                and path not in ("/__mock/faults",) else {}
            with st.lock:
                if (self.command, path) == ("GET", "/__mock/requests"):
                    return json_reply(200, st.requests)
                if (self.command, path) == ("POST", "/__mock/clear-requests"):
                    st.requests = []
                    st.clear_stats()
                    return json_reply(200, {"ok": True})
                if (self.command, path) == ("POST", "/__mock/reset"):
                    st.reset()
                    return json_reply(200, {"ok": True})
                if (self.command, path) == ("GET", "/__mock/faults"):
                    return json_reply(200, st.faults)
                if (self.command, path) == ("POST", "/__mock/faults"):
                    try:
                        specs = json.loads(body.decode("utf-8") or "[]")
                    except ValueError:
                        raise bad("faults body must be JSON") from None
                    specs = [specs] if isinstance(specs, dict) else specs
                    if not isinstance(specs, list) or not all(isinstance(s, dict) for s in specs):
                        raise bad("faults body must be an object or a list of objects")
                    st.faults.extend(specs)
                    return json_reply(200, {"queued": len(st.faults)})
                if (self.command, path) == ("POST", "/__mock/seed"):
                    user, count = obj.get("user"), obj.get("count", 1)
                    if not isinstance(user, str) or not isinstance(count, int) or count < 0:
                        raise bad("seed needs user (string) and count (integer >= 0)")
                    prefix = obj.get("name_prefix")
                    ids = []
                    for i in range(count):
                        fields = validate_fields({"meta": obj["meta"]}) if "meta" in obj else {}
                        if prefix is not None:
                            fields["name"] = "%s%d" % (prefix, i)
                        ids.append(st.create(user, fields)["id"])
                    return json_reply(200, {"ids": ids})
                if path == "/__mock/config" and self.command in ("GET", "POST"):
                    if obj.get("last_cursor", "last") not in ("last", "empty"):
                        raise bad("last_cursor must be last or empty")
                    take = obj.get("default_take", 1)
                    if type(take) is not int or not 1 <= take <= MAX_TAKE:
                        raise bad("default_take must be an integer from 1 to %d" % MAX_TAKE)
                    st.config.update({k: obj[k] for k in ("last_cursor", "default_take") if k in obj})
                    return json_reply(200, st.config)
                if (self.command, path) == ("GET", "/__mock/stats"):
                    return json_reply(200, st.stats)
                if (self.command, path) == ("GET", "/__mock/store"):
                    return json_reply(200, {u: sorted(t.values(), key=lambda t: (t["createdAt"], t["id"]))
                                            for u, t in st.store.items()})
            raise ApiError(404, "Unknown control endpoint", "NOT_FOUND")
        except ApiError as e:
            return err_reply(e)

    # ---- writing ----------------------------------------------------------

    def send_reply(self, reply, fault):
        chunks = reply.chunks
        body = reply.body
        if fault.get("chunk_bytes") and chunks is None:
            b = max(1, int(fault["chunk_bytes"]))
            chunks = [body[i:i + b] for i in range(0, len(body), b)]
        if chunks is not None and self.request_version == "HTTP/1.0":
            body, chunks = b"".join(chunks), None
        limit = fault.get("truncate", fault.get("drop_after"))
        if limit is not None:
            limit = max(0, int(limit))
            self.close_connection = True
        code = reply.status
        reason = self.responses.get(code, ("",))[0]
        head = ["%s %d %s" % (self.protocol_version, code, reason),
                "Date: " + self.date_time_string(), "Server: " + self.server_version,
                "Content-Type: " + fault.get("content_type", reply.content_type)]
        head.append("Transfer-Encoding: chunked" if chunks is not None
                    else "Content-Length: %d" % len(body))
        extra = list(reply.headers) + list((fault.get("headers") or {}).items())
        head += ["%s: %s" % (k, v) for k, v in extra]
        if self.close_connection:
            head.append("Connection: close")
        elif self.request_version == "HTTP/1.0":
            head.append("Connection: keep-alive")  # the client asked for it (else the base closes)
        self.log_request(code)
        out = Writer(self.wfile, fault.get("drip_ms"), fault.get("drip_bytes"))
        out.add(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        whole = limit is None
        if self.command != "HEAD":
            if chunks is None:
                out.add(body if limit is None else body[:limit])
            else:
                whole = self.add_chunks(out, chunks, limit)
        out.flush()
        if "drop_after" in fault:
            self.reset_socket()
        return whole

    @staticmethod
    def add_chunks(out, chunks, limit):
        """Adds the chunked framing of chunks, cut at limit decoded bytes; True if all was added."""
        sent, complete = 0, True
        for c in chunks:
            if limit is not None:
                if sent >= limit:
                    complete = False
                    break
                c = c[:limit - sent]
            if c:
                out.add(b"%x\r\n%s\r\n" % (len(c), c))
                sent += len(c)
        if complete and (limit is None or sent < limit):
            out.add(b"0\r\n\r\n")
            return True
        return False

    def reset_socket(self):
        """Abortive close: RST instead of FIN."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def handle_error(self, request, client_address):
        if self.state.args.verbose:
            super().handle_error(request, client_address)


def main(argv=None):
    p = argparse.ArgumentParser(description="Mock ChatBotKit partner user token API")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    p.add_argument("--secret", default="sk-test-secret")
    p.add_argument("--clock-start", type=int, help="first timestamp (ms); +1 per mutation")
    p.add_argument("--seed", type=int, help="seed for ids and secrets (deterministic)")
    p.add_argument("--default-take", type=int, default=20)
    p.add_argument("--last-cursor", choices=("last", "empty"), default="last")
    p.add_argument("--max-seconds", type=float, default=600)
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args(argv)

    Server.address_family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    server = Server((args.host, args.port), Handler)
    server.state = State(args)
    port = server.server_address[1]
    # the handlers come before the port is announced: a test may signal
    # the moment it reads the port
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if args.port_file:
        with open(args.port_file, "w") as f:
            f.write("%d\n" % port)
    print("PORT %d" % port, flush=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    stop.wait(args.max_seconds)
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
