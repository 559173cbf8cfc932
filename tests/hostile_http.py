#!/usr/bin/env python3
"""hostile_http.py - a keep-alive HTTP/1.1 server that reads a create and hangs up.

Used by tests/test_http1.c (started and stopped by the test, by PID), on
loopback only, standard library only.

Every request on a connection is read whole (head and Content-Length body).
A request whose path ends in "/create", on a connection that already carried
a request (a kept-alive one), is counted and then the connection is closed
without any answer: the server "may have acted", so a client must not send
that request again. As the first request of a connection it is answered as
the API would. "/bye" is answered, then the connection is closed (no
"Connection: close": the client has to notice by itself). "/drip" gets
"HTTP/1.1 100 Continue" lines one byte per 50 ms, for ever (a server that
is never silent for a read timeout). Any other request gets 200 with a
small JSON body, written whole, and the connection stays open (keep-alive).

    GET /__stats  -> {"connections": n, "requests": n, "creates": n}
                     (itself not counted; answered with Connection: close)

    hostile_http.py --host 127.0.0.1 --port 0 --port-file FILE [--max-seconds N]
"""
import argparse
import json
import socket
import socketserver
import threading
import time

lock = threading.Lock()
stats = {"connections": 0, "requests": 0, "creates": 0}


def read_request(f):
    """(method, path, body) of the next request, or None at EOF."""
    line = f.readline(65537)
    while line in (b"\r\n", b"\n"):
        line = f.readline(65537)
    if not line:
        return None
    parts = line.decode("latin-1").split()
    if len(parts) != 3:
        return None
    length = 0
    while True:
        h = f.readline(65537)
        if h in (b"\r\n", b"\n", b""):
            break
        name, _, value = h.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    body = f.read(length) if length else b""
    return parts[0], parts[1], body


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with lock:
            stats["connections"] += 1
        served = 0
        while True:
            req = read_request(self.rfile)
            if req is None:
                return
            method, path, _ = req
            if path == "/__stats":
                with lock:
                    body = json.dumps(stats).encode()
                    stats["connections"] -= 1  # this control connection
                self.reply(body, close=True)
                return
            with lock:
                stats["requests"] += 1
                create = path.split("?")[0].endswith("/create")
                stats["creates"] += create
            served += 1
            if create and served > 1:
                return  # read it, then hang up without a word
            if create:
                self.reply(b'{"id":"t1","token":"sk-created-1","createdAt":1700000000000}')
            elif path == "/drip":
                self.drip()
                return
            else:
                self.reply(b'{"items":[]}')
            if path == "/bye":
                return

    def drip(self):
        line = b"HTTP/1.1 100 Continue\r\n\r\n"
        end = time.monotonic() + 60
        try:
            while time.monotonic() < end:
                for i in range(len(line)):
                    self.wfile.write(line[i:i + 1])
                    self.wfile.flush()
                    time.sleep(0.05)
        except OSError:
            pass

    def reply(self, body, close=False):
        head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
        if close:
            head += "Connection: close\r\n"
        self.wfile.write(head.encode() + b"\r\n" + body)
        self.wfile.flush()


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--max-seconds", type=float, default=120)
    ap.add_argument("--secret", help="accepted and ignored (the same command line as mock_api.py)")
    a = ap.parse_args()
    if a.host not in ("127.0.0.1", "localhost"):
        raise SystemExit("loopback only")
    srv = Server((a.host, a.port), Handler)
    if a.port_file:
        with open(a.port_file, "w") as f:
            f.write("%d\n" % srv.server_address[1])
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    time.sleep(a.max_seconds)  # a forgotten server ends by itself
    srv.shutdown()


if __name__ == "__main__":
    main()
