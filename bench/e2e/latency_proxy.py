#!/usr/bin/env python3
"""latency_proxy.py - a TCP proxy that delays every byte by a fixed time each way.

Python 3 standard library only; for `make bench-e2e` (no netem here).

    python3 bench/e2e/latency_proxy.py --upstream-port N [--delay-ms 20]
                                       [--host 127.0.0.1] [--upstream-host 127.0.0.1]
                                       [--stats-file PATH] [--max-seconds 900]

Prints exactly one line "PORT <n>" once it listens; SIGTERM, SIGINT or
--max-seconds end it with exit status 0. Only loopback addresses are accepted.

For each accepted connection it connects to the upstream and copies bytes both
ways; what is read at time t is written at t + delay (a queue per direction,
so the link carries data while it delays it, like a long wire, not a stop and
wait). The round trip through it is 2 x delay plus loopback time. A half close
(EOF) is passed on after the same delay. TCP_NODELAY on all sockets.

--stats-file PATH is rewritten (atomically) after every accepted connection
with {"connections": n}.
"""
import argparse
import collections
import ipaddress
import json
import os
import signal
import socket
import sys
import threading
import time


def loopback(host):
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class Link:
    """One direction: a reader thread stamps what it reads, a writer thread sends it when due."""

    def __init__(self, src, dst, delay, on_done):
        self.src, self.dst, self.delay, self.on_done = src, dst, delay, on_done
        self.queue = collections.deque()
        self.ready = threading.Condition()

    def start(self):
        threading.Thread(target=self.read, daemon=True).start()
        threading.Thread(target=self.write, daemon=True).start()

    def read(self):
        while True:
            try:
                data = self.src.recv(65536)
            except OSError:
                data = b""
            with self.ready:
                self.queue.append((time.monotonic() + self.delay, data))
                self.ready.notify()
            if not data:
                return

    def write(self):
        try:
            self.pass_on()
        finally:
            self.on_done()

    def pass_on(self):
        while True:
            with self.ready:
                while not self.queue:
                    self.ready.wait()
                due, data = self.queue.popleft()
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            try:
                if not data:
                    self.dst.shutdown(socket.SHUT_WR)
                    return
                self.dst.sendall(data)
            except OSError:
                return


def main(argv=None):
    p = argparse.ArgumentParser(description="TCP proxy with a fixed delay each way (bench only)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--upstream-host", default="127.0.0.1")
    p.add_argument("--upstream-port", type=int, required=True)
    p.add_argument("--delay-ms", type=float, default=20.0)
    p.add_argument("--stats-file")
    p.add_argument("--max-seconds", type=float, default=900)
    args = p.parse_args(argv)
    if not loopback(args.host) or not loopback(args.upstream_host):
        p.error("only loopback addresses are allowed")

    lsock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((args.host, 0))
    lsock.listen(64)
    count = {"connections": 0}
    lock = threading.Lock()

    def save():
        if args.stats_file:
            tmp = args.stats_file + ".tmp"
            with open(tmp, "w") as f:
                json.dump(count, f)
            os.replace(tmp, args.stats_file)

    def serve(conn):
        try:
            up = socket.create_connection((args.upstream_host, args.upstream_port), timeout=10)
        except OSError:
            conn.close()
            return
        up.settimeout(None)
        for s in (conn, up):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        left = [2]
        done_lock = threading.Lock()

        def one_done():  # both directions over: the sockets go
            with done_lock:
                left[0] -= 1
                if left[0]:
                    return
            for s in (conn, up):
                try:
                    s.close()
                except OSError:
                    pass

        Link(conn, up, args.delay_ms / 1000.0, one_done).start()
        Link(up, conn, args.delay_ms / 1000.0, one_done).start()

    def accept_loop():
        while True:
            try:
                conn, _ = lsock.accept()
            except OSError:
                return
            with lock:
                count["connections"] += 1
                save()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    with lock:
        save()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print("PORT %d" % lsock.getsockname()[1], flush=True)
    threading.Thread(target=accept_loop, daemon=True).start()
    stop.wait(args.max_seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
