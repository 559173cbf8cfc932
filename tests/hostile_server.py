#!/usr/bin/env python3
"""hostile_server.py - a keep-alive HTTP/1.1 server that drops one request unanswered.

Python 3 standard library only. Used by tests/test_faults.c ("duplicate create"
cases) to check that no adapter sends a create twice when a reused connection
dies after the create went out.

    python3 tests/hostile_server.py --stats-file PATH [--drop-op create|list]
                                    [--drop-nth 1] [--refuse-after-drop]
                                    [--host 127.0.0.1] [--max-seconds 60]

Prints exactly one line "PORT <n>" once it listens; SIGTERM, SIGINT or
--max-seconds end it with exit status 0. Only loopback addresses are accepted.

Every connection is persistent (HTTP/1.1; "Connection: close" from the client
is honoured). A request is read whole (head, then Content-Length bytes), and
its operation is the path's last segment: ".../token/list" is "list",
".../token/create" is "create", anything else "other". Answers, each written
with one sendall and TCP_NODELAY:
    list    200 {"items":[],"cursor":""}
    create  200 {"id":"cmhostile...","token":"sk-hostile-...","createdAt":1}
    other   404 {"message":"Not Found","code":"NOT_FOUND"}
except the --drop-nth request of --drop-op (counted from 1): it is read whole,
counted, and the connection is closed without a byte of response. With
--refuse-after-drop the listening socket is closed first, so every later
connection attempt is refused.

--stats-file PATH is rewritten (atomically, by rename) after each request and
each accepted connection with one line of JSON:
    {"connections": n, "list": n, "create": n, "other": n,
     "reused": n (requests that were not the first on their connection),
     "dropped_on_reused": 0|1 (the dropped request came on a reused connection)}
"""
import argparse
import ipaddress
import json
import os
import signal
import socket
import sys
import threading

BODIES = {
    "list": (200, b'{"items":[],"cursor":""}'),
    "create": (200, b'{"id":"cmhostile0000000000000001","token":"sk-hostile-created",'
                    b'"createdAt":1}'),
    "other": (404, b'{"message":"Not Found","code":"NOT_FOUND"}'),
}
REASONS = {200: "OK", 404: "Not Found"}
MAX_HEAD = 65536


class Server:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.counts = {"connections": 0, "list": 0, "create": 0, "other": 0, "reused": 0,
                       "dropped_on_reused": 0}
        self.listener = None

    def save(self):
        """Writes the counts; call with the lock held."""
        tmp = self.args.stats_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.counts, f)
        os.replace(tmp, self.args.stats_file)

    def count(self, name, reused=False):
        """Counts a connection or a request; True when this request is the one to drop."""
        with self.lock:
            self.counts[name] += 1
            if reused:
                self.counts["reused"] += 1
            drop = name == self.args.drop_op and self.counts[name] == self.args.drop_nth
            if drop:
                self.counts["dropped_on_reused"] = 1 if reused else 0
            self.save()
            return drop

    def refuse_from_now(self):
        """Stops listening: shutdown wakes the blocked accept() (close alone would not, on
        Linux, and the socket would go on accepting), then the port is closed."""
        for stop in (lambda: self.listener.shutdown(socket.SHUT_RDWR), self.listener.close):
            try:
                stop()
            except OSError:
                pass


def read_request(f):
    """(path, wants_close) of the next request, or None at EOF or on junk."""
    line = f.readline(MAX_HEAD)
    if not line:
        return None
    parts = line.split()
    if len(parts) != 3:
        return None
    length, close, size = 0, False, len(line)
    while True:
        h = f.readline(MAX_HEAD)
        size += len(h)
        if not h or size > MAX_HEAD:
            return None
        if h in (b"\r\n", b"\n"):
            break
        name, _, value = h.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            length = int(value) if value.isdigit() else 0
        elif name == b"connection" and value == b"close":
            close = True
    if length and len(f.read(length)) < length:
        return None
    return parts[1].decode("latin-1"), close


def operation(path):
    last = path.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    return last if last in ("list", "create") else "other"


def serve(server, conn):
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn.settimeout(30)
    f = conn.makefile("rb")
    served = 0
    try:
        while True:
            got = read_request(f)
            if got is None:
                return
            path, close = got
            op = operation(path)
            if server.count(op, reused=served > 0):
                if server.args.refuse_after_drop:
                    server.refuse_from_now()
                return  # read whole, never answered
            served += 1
            status, body = BODIES[op]
            head = ("HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n"
                    % (status, REASONS[status], len(body), "Connection: close\r\n" if close else ""))
            conn.sendall(head.encode("latin-1") + body)
            if close:
                return
    except OSError:
        pass
    finally:
        f.close()
        try:
            conn.close()
        except OSError:
            pass


def main(argv=None):
    p = argparse.ArgumentParser(description="keep-alive server that drops one request (tests only)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--stats-file", required=True)
    p.add_argument("--drop-op", choices=("list", "create", "other"), default="create")
    p.add_argument("--drop-nth", type=int, default=1)
    p.add_argument("--refuse-after-drop", action="store_true")
    p.add_argument("--max-seconds", type=float, default=60)
    args = p.parse_args(argv)
    try:
        if not ipaddress.ip_address(args.host).is_loopback:
            p.error("only loopback addresses are allowed")
    except ValueError:
        p.error("--host must be a loopback IP address")

    server = Server(args)
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    lsock = socket.socket(family, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((args.host, 0))
    lsock.listen(16)
    server.listener = lsock
    with server.lock:
        server.save()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print("PORT %d" % lsock.getsockname()[1], flush=True)

    def accept_loop():
        while not stop.is_set():
            try:
                conn, _ = lsock.accept()
            except OSError:
                return  # closed: refusing from now on, or shutting down
            server.count("connections")
            threading.Thread(target=serve, args=(server, conn), daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()
    stop.wait(args.max_seconds)
    server.refuse_from_now()
    return 0


if __name__ == "__main__":
    sys.exit(main())
