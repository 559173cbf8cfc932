#!/usr/bin/env python3
"""tls_front.py - a TLS-terminating front for tests/mock_api.py (stdlib only).

    python3 tests/tls_front.py --cert CERT.pem --key KEY.pem --upstream-port N
                               [--host 127.0.0.1] [--port 0] [--upstream-host 127.0.0.1]
                               [--max-seconds 120] [--stats-file PATH]

Listens on a loopback address with TLS (the given certificate and key), and
for each accepted connection opens a plain TCP connection to the upstream
(the mock API) and copies bytes both ways until either side closes. It
prints exactly one line "PORT <n>" on stdout once it listens. SIGTERM,
SIGINT or --max-seconds end it with exit status 0. A client that refuses the
certificate just makes the handshake fail; the front goes on serving.

Both sockets of a pair have TCP_NODELAY, and each piece read from one side is
written to the other at once (a TLS record per piece), so a keep-alive client
never waits for a delayed ACK. A client's connection maps to exactly one
upstream connection, which stays open as long as the client keeps its own
(idle limit 30 s): the mock's connection count is the clients' count.

--stats-file PATH is rewritten (atomically, by rename) after every accepted
connection and every handshake with one JSON object: {"connections": accepted,
"handshakes": completed, "full": full handshakes, "resumed": resumed sessions,
"failed": handshakes that failed (e.g. the client refused the certificate)}.

Used by tests/test_faults.c to check that the curl adapter refuses a
self-signed certificate without its CA (curl error 60) and accepts it with
ca_file. Only loopback addresses are accepted for --host and --upstream-host.
"""
import argparse
import ipaddress
import json
import os
import signal
import socket
import ssl
import sys
import threading


# documentation networks (RFC 5737, RFC 3849): never routed, used by the
# lwIP tests on a TAP device inside a network namespace they create
TEST_NETS = [ipaddress.ip_network(n) for n in
             ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")]


def loopback(host):
    try:
        ip = ipaddress.ip_address(host)
        return ip.is_loopback or any(ip in n for n in TEST_NETS)
    except ValueError:
        return host == "localhost"


class Stats:
    """Connection and handshake counters, mirrored into a JSON file when one is given."""

    def __init__(self, path):
        self.path, self.lock = path, threading.Lock()
        self.counts = {"connections": 0, "handshakes": 0, "full": 0, "resumed": 0, "failed": 0}

    def add(self, *names):
        with self.lock:
            for name in names:
                self.counts[name] += 1
            if self.path:
                tmp = self.path + ".tmp"
                with open(tmp, "w") as f:
                    json.dump(self.counts, f)
                os.replace(tmp, self.path)


def nodelay(sock):
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass


def pump(src, dst, on_eof):
    """Copies src to dst until EOF or an error, then calls on_eof()."""
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except (OSError, ssl.SSLError):
        pass
    finally:
        try:
            on_eof()
        except OSError:
            pass


def serve(conn, ctx, upstream, stats):
    conn.settimeout(30)
    nodelay(conn)
    stats.add("connections")
    try:
        tls = ctx.wrap_socket(conn, server_side=True)
    except (OSError, ssl.SSLError):
        conn.close()  # the client refused the certificate, or spoke no TLS
        stats.add("failed")
        return
    stats.add("handshakes", "resumed" if tls.session_reused else "full")
    try:
        up = socket.create_connection(upstream, timeout=30)
    except OSError:
        tls.close()
        return
    nodelay(up)
    done = threading.Event()

    def close_all():
        # shutdown first: it sends the FIN and wakes the other pump's blocked recv;
        # a bare close() from this thread would leave the connection open until then
        done.set()
        for s in (tls, up):
            for end in (lambda: s.shutdown(socket.SHUT_RDWR), s.close):
                try:
                    end()
                except OSError:
                    pass

    # client -> upstream: on EOF, half-close toward the mock (it answers, then closes)
    threading.Thread(target=pump, args=(tls, up, lambda: up.shutdown(socket.SHUT_WR)),
                     daemon=True).start()
    # upstream -> client: the mock closed; nothing more can come
    pump(up, tls, close_all)


def main(argv=None):
    p = argparse.ArgumentParser(description="TLS front for the mock API (tests only)")
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--upstream-host", default="127.0.0.1")
    p.add_argument("--upstream-port", type=int, required=True)
    p.add_argument("--max-seconds", type=float, default=120)
    p.add_argument("--stats-file")
    args = p.parse_args(argv)
    if not loopback(args.host) or not loopback(args.upstream_host):
        p.error("only loopback addresses are allowed")

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    lsock = socket.socket(family, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((args.host, args.port))
    lsock.listen(64)
    print("PORT %d" % lsock.getsockname()[1], flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    upstream = (args.upstream_host, args.upstream_port)
    stats = Stats(args.stats_file)
    if args.stats_file:
        stats.add()  # the file exists (all zero) from the start

    def accept_loop():
        while not stop.is_set():
            try:
                conn, _ = lsock.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn, ctx, upstream, stats), daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()
    stop.wait(args.max_seconds)
    lsock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
