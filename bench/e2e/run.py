#!/usr/bin/env python3
"""run.py - `make bench-e2e`: cbk-token (the CLI), the library and @chatbotkit/sdk on the
same jobs against the same local servers. A report, not a test.

    python3 bench/e2e/run.py [--rounds 5] [--out build/bench-e2e] [--only SCENARIO,...]
                             [--clients node,lib,cli-curl,cli-posix] [--cli examples/cbk-token]
                             [--report build/bench-e2e.md]

Needs (mk/bench-e2e.mk builds and installs them): examples/cbk-token, the library
driver build/bench-e2e/lib_driver, @chatbotkit/sdk 1.36.0 in
build/bench-e2e/node_modules, node, openssl. Python standard library only.

Servers, all on 127.0.0.1 and all stopped by PID at the end:
    tests/mock_api.py    10,000 tokens of one user, the API (keep-alive, no Nagle)
    tests/tls_front.py   TLS in front of it (a self-signed EC certificate made here);
                         counts full and resumed handshakes
    latency_proxy.py     in front of the TLS front, 20 ms each way (a 40 ms round trip)

Scenarios (each client in each, rounds interleaved, the client order rotated per round):
    list-http     list all 10,000 at take 100 (101 pages, the last empty), plain HTTP
    list-tls      the same over TLS
    list-tls-40ms the same over TLS through the latency proxy
    stream        the 10,000 as one JSON Lines stream, plain HTTP
    churn         100 creates, then 100 deletes of them, plain HTTP
Clients: node (the SDK, one process per job), lib (cbk_token.h + the curl adapter's
defaults, one process), cli-curl and cli-posix (examples/cbk-token as shipped; churn is one
process per create/delete, as a shell user runs it; posix: plain HTTP only).

Every run is checked: exactly the expected ids in the expected order (list, stream), 100
distinct created ids that are then deleted (churn), and the mock's request count per
operation (101 list pages, 1 stream, 100 + 100). A run that fails a check is reported and
left out of the medians.

Measured per run, by bench/e2e/measure.c around the client: wall (spawn to exit), CPU (user +
system of the client and what it waited for: wait4), peak RSS (ru_maxrss), TCP connections accepted by the mock (and by the TLS
front / proxy), TLS handshakes at the front (full / resumed). Medians over the rounds;
ratios against node's median in the same scenario.
"""
import argparse
import http.client
import json
import os
import re
import signal
import ssl
import statistics
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECRET = "sk-bench-e2e-0123456789abcdefABCDEF"
USER = "bench-user"
TOKENS = 10000
TAKE = 100
CHURN = 100
DELAY_MS = 20
CLIENTS = ("node", "lib", "cli-curl", "cli-posix")
SCENARIOS = ("list-http", "list-tls", "list-tls-40ms", "stream", "churn")
TITLES = {
    "list-http": "list all 10,000 (take 100), plain HTTP",
    "list-tls": "list all 10,000 (take 100), TLS",
    "list-tls-40ms": "list all 10,000 (take 100), TLS, 40 ms round trip",
    "stream": "the 10,000 as one stream, plain HTTP",
    "churn": "100 creates, then 100 deletes, plain HTTP",
}


class Servers:
    """The processes this run started, stopped by PID on every path."""

    def __init__(self):
        self.procs = []

    def start(self, argv):
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                cwd=ROOT)
        self.procs.append(proc)
        m = re.fullmatch(r"PORT (\d+)\n", proc.stdout.readline())
        if not m:
            raise RuntimeError("%s did not start" % argv[1])
        return int(m.group(1))

    def stop(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            proc.stdout.close()


def mock_call(port, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def read_json(path):
    with open(path) as f:
        return json.load(f)


MEASURE = None  # build/bench-e2e/measure (set in main)


def spawn_and_wait(argv, env):
    """Runs argv under the measure launcher (see measure.c: why not straight from here).
    Returns (stdout bytes, exit status, wall s, CPU s (user + system), peak RSS KiB)."""
    report = MEASURE + ".report"
    proc = subprocess.run([MEASURE, report] + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=env, cwd=ROOT)
    with open(report) as f:
        code, wall, cpu, rss = f.read().split()
    if int(code) != 0:
        sys.stderr.write("  %s: exit %s: %s\n" % (os.path.basename(argv[0]), code,
                                                  proc.stderr.decode(errors="replace")[-300:]))
    return proc.stdout, int(code), float(wall), float(cpu), int(rss)


class Bench:
    def __init__(self, args):
        self.args = args
        self.out = os.path.join(ROOT, args.out)
        self.tls_dir = os.path.join(self.out, "tls")
        self.servers = Servers()
        self.results = {}  # (scenario, client) -> [run dict]
        self.failures = []
        self.rtts = []  # the 40 ms link's measured round trip, once per round

    # ---- setup ------------------------------------------------------------------

    def make_cert(self):
        os.makedirs(self.tls_dir, exist_ok=True)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                        "-keyout", os.path.join(self.tls_dir, "key.pem"),
                        "-out", os.path.join(self.tls_dir, "cert.pem")], check=True, capture_output=True)
        self.cert = os.path.join(self.tls_dir, "cert.pem")

    def start(self):
        py = sys.executable
        self.front_stats = os.path.join(self.out, "front-stats.json")
        self.proxy_stats = os.path.join(self.out, "proxy-stats.json")
        self.mock = self.servers.start([py, "tests/mock_api.py", "--secret", SECRET, "--seed", "1",
                                        "--clock-start", "1700000000000", "--max-seconds", "1800"])
        self.front = self.servers.start([py, "tests/tls_front.py", "--cert", self.cert, "--key",
                                         os.path.join(self.tls_dir, "key.pem"), "--upstream-port",
                                         str(self.mock), "--max-seconds", "1800", "--stats-file",
                                         self.front_stats])
        self.proxy = self.servers.start([py, "bench/e2e/latency_proxy.py", "--upstream-port",
                                         str(self.front), "--delay-ms", str(DELAY_MS), "--max-seconds",
                                         "1800", "--stats-file", self.proxy_stats])
        seeded = mock_call(self.mock, "POST", "/__mock/seed", {"user": USER, "count": TOKENS})["ids"]
        self.expected = list(reversed(seeded))  # the list's default order: newest first

    def link_rtt(self, n=21):
        """The 40 ms link's real round trip: the median time of n tiny keep-alive requests
        (GET /__mock/faults, answered "[]") over TLS through the proxy and the front."""
        ctx = ssl.create_default_context(cafile=self.cert)
        conn = http.client.HTTPSConnection("127.0.0.1", self.proxy, timeout=30, context=ctx)
        times = []
        try:
            for _ in range(n):
                t0 = time.perf_counter()
                conn.request("GET", "/__mock/faults")
                conn.getresponse().read()
                times.append(time.perf_counter() - t0)
        finally:
            conn.close()
        return statistics.median(times[1:])  # the first one pays for TCP and TLS

    def base(self, scenario):
        if scenario == "list-tls":
            return "https://127.0.0.1:%d" % self.front
        if scenario == "list-tls-40ms":
            return "https://127.0.0.1:%d" % self.proxy
        return "http://127.0.0.1:%d" % self.mock

    # ---- the clients --------------------------------------------------------------

    def env(self):
        env = dict(os.environ, CBK_SECRET=SECRET, NODE_EXTRA_CA_CERTS=self.cert)
        env.pop("CBK_BASE_URL", None)
        return env

    def job_argv(self, client, scenario, job):
        base = self.base(scenario)
        if client == "node":
            return ["node", "bench/e2e/node_driver.mjs", "--modules", os.path.join(self.out, "node_modules"),
                    "--base", base, "--user", USER, "--job", job, "--take", str(TAKE), "--count", str(CHURN)]
        if client == "lib":
            return [os.path.join(self.out, "lib_driver"), "--base", base, "--user", USER, "--job", job,
                    "--take", str(TAKE), "--count", str(CHURN), "--ca-file", self.cert]
        transport = "posix" if client == "cli-posix" else "curl"
        argv = [self.args.cli, "--base-url", base, "--transport", transport, "--json"]
        if transport == "curl":
            argv += ["--ca-file", self.cert]
        if job == "list":
            return argv + ["list", "--all", "--take", str(TAKE), USER]
        return argv + ["list", "--stream", USER]

    def run_one(self, client, scenario):
        """One measured run; returns its dict (with "ok" and "why")."""
        mock_call(self.mock, "POST", "/__mock/clear-requests", {})
        front0, proxy0 = read_json(self.front_stats), read_json(self.proxy_stats)
        if scenario == "churn":
            run = self.run_churn(client)
        else:
            job = "stream" if scenario == "stream" else "list"
            out, code, wall, cpu, rss = spawn_and_wait(self.job_argv(client, scenario, job), self.env())
            run = {"wall": wall, "cpu": cpu, "rss": rss, "code": code}
            run["ids"] = self.ids_of(client, out)
        st = mock_call(self.mock, "GET", "/__mock/stats")
        front1, proxy1 = read_json(self.front_stats), read_json(self.proxy_stats)
        run["connections"] = st["api_connections"]
        run["requests"] = st["requests"]
        run["server_ms"] = st["server_ms"]
        run["full"] = front1["full"] - front0["full"]
        run["resumed"] = front1["resumed"] - front0["resumed"]
        run["front_conns"] = front1["connections"] - front0["connections"]
        run["proxy_conns"] = proxy1["connections"] - proxy0["connections"]
        run["ok"], run["why"] = self.check(scenario, run)
        run.pop("ids", None)
        return run

    @staticmethod
    def ids_of(client, out):
        ids = []
        for line in out.decode("utf-8", errors="replace").splitlines():
            if not line:
                continue
            if client.startswith("cli"):
                obj = json.loads(line)
                if "id" in obj:
                    ids.append(obj["id"])
            else:
                ids.append(line)
        return ids

    def run_churn(self, client):
        """100 creates then 100 deletes; the CLI as one process per operation."""
        if not client.startswith("cli"):
            out, code, wall, cpu, rss = spawn_and_wait(self.job_argv(client, "churn", "churn"), self.env())
            lines = out.decode().splitlines()
            created = [x.split(" ", 1)[1] for x in lines if x.startswith("created ")]
            deleted = [x.split(" ", 1)[1] for x in lines if x.startswith("deleted ")]
            return {"wall": wall, "cpu": cpu, "rss": rss, "code": code, "created": created,
                    "deleted": deleted}
        transport = "posix" if client == "cli-posix" else "curl"
        head = [self.args.cli, "--base-url", self.base("churn"), "--transport", transport, "--json"]
        total = {"wall": 0.0, "cpu": 0.0, "rss": 0, "code": 0, "created": [], "deleted": []}

        def one(argv, into):
            out, code, wall, cpu, rss = spawn_and_wait(argv, self.env())
            total["wall"] += wall
            total["cpu"] += cpu
            total["rss"] = max(total["rss"], rss)
            total["code"] = total["code"] or code
            for line in out.decode().splitlines():
                obj = json.loads(line)
                if "id" in obj:
                    total[into].append(obj["id"])

        for _ in range(CHURN):
            one(head + ["create", USER], "created")
        for tid in list(total["created"]):
            one(head + ["delete", USER, tid], "deleted")
        return total

    def check(self, scenario, run):
        if run["code"] != 0:
            return False, "exit %d" % run["code"]
        req = run["requests"]
        if scenario == "churn":
            if len(run["created"]) != CHURN or len(set(run["created"])) != CHURN:
                return False, "%d created ids" % len(run["created"])
            if run["deleted"] != run["created"]:
                return False, "deleted ids differ from the created ones"
            if req != {"create": CHURN, "delete": CHURN}:
                return False, "requests %s" % req
            return True, ""
        if run["ids"] != self.expected:
            return False, "%d ids, %s" % (len(run["ids"]), "same set" if set(run["ids"]) == set(self.expected)
                                          else "not the seeded ones")
        want = {"stream": 1} if scenario == "stream" else {"list": TOKENS // TAKE + 1}
        if req != want:
            return False, "requests %s, want %s" % (req, want)
        return True, ""

    # ---- the rounds -----------------------------------------------------------------

    def clients_for(self, scenario):
        names = [c for c in CLIENTS if not (c == "cli-posix" and scenario.startswith("list-tls"))]
        return [c for c in names if c in self.args.clients]

    def go(self):
        scenarios = [s for s in SCENARIOS if s in self.args.only]
        for rnd in range(self.args.rounds):
            for scenario in scenarios:
                if scenario == "list-tls-40ms":
                    self.rtts.append(self.link_rtt())
                clients = self.clients_for(scenario)
                shift = rnd % len(clients)
                for client in clients[shift:] + clients[:shift]:
                    run = self.run_one(client, scenario)
                    self.results.setdefault((scenario, client), []).append(run)
                    mark = "ok" if run["ok"] else "CHECK FAILED: " + run["why"]
                    print("round %d  %-13s %-9s wall %7.3f s  cpu %6.3f s  rss %7.1f MB  conns %3d  "
                          "tls %d/%d  %s" % (rnd + 1, scenario, client, run["wall"], run["cpu"],
                                             run["rss"] / 1024.0, run["connections"], run["full"],
                                             run["resumed"], mark), flush=True)
                    if not run["ok"]:
                        self.failures.append((scenario, client, rnd + 1, run["why"]))

    # ---- the report -------------------------------------------------------------------

    def medians(self, scenario, client):
        runs = [r for r in self.results.get((scenario, client), []) if r["ok"]]
        if not runs:
            return None
        med = {k: statistics.median(r[k] for r in runs)
               for k in ("wall", "cpu", "rss", "connections", "full", "resumed", "server_ms")}
        med["n"] = len(runs)
        return med

    def report(self):
        lines = ["# make bench-e2e: cbk-token, the library and @chatbotkit/sdk 1.36.0", "",
                 "Same jobs, same local servers (tests/mock_api.py, tests/tls_front.py, "
                 "bench/e2e/latency_proxy.py at %d ms each way), %d interleaved rounds, medians of the "
                 "runs that passed their checks. CPU is user+system of the client process (and of what "
                 "it waited for), RSS its peak (ru_maxrss). conns: TCP connections the mock accepted for "
                 "the run (through the TLS front: one each); TLS: full/resumed handshakes at the front. "
                 "x node: ratio to the SDK's median in the same scenario." % (DELAY_MS, self.args.rounds),
                 "", "Machine: %s, %d CPUs (shared), %s; node %s; %s." % (
                     os.uname().machine, os.cpu_count() or 0, os.uname().release,
                     subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip(),
                     curl_version()), ""]
        for scenario in SCENARIOS:
            if scenario not in self.args.only:
                continue
            base = self.medians(scenario, "node")
            lines += ["## " + TITLES[scenario], "",
                      "| client | wall s | x node | CPU s | x node | peak RSS MB | x node | conns | TLS full/resumed | runs ok |",
                      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
            for client in self.clients_for(scenario):
                m = self.medians(scenario, client)
                total = len(self.results.get((scenario, client), []))
                if m is None:
                    lines.append("| %s | - | - | - | - | - | - | - | - | 0/%d |" % (client, total))
                    continue
                ratio = (lambda k: "%.2f" % (m[k] / base[k]) if base and base[k] else "-")
                tls = "%g/%g" % (m["full"], m["resumed"]) if scenario.startswith("list-tls") else "-"
                lines.append("| %s | %.3f | %s | %.3f | %s | %.1f | %s | %g | %s | %d/%d |" % (
                    client, m["wall"], ratio("wall"), m["cpu"], ratio("cpu"), m["rss"] / 1024.0,
                    ratio("rss"), m["connections"], tls, m["n"], total))
            if scenario == "churn" and any(c.startswith("cli") for c in self.clients_for(scenario)):
                lines += ["", "The CLI does one operation per run: its rows are %d processes (as a shell "
                          "script runs it), and the sum of their wall and CPU times; each process start "
                          "costs %.1f ms of CPU here (`cbk-token --help`: loading libcurl and the "
                          "libraries it links)." % (2 * CHURN, self.cli_start_ms())]
            lines.append("")
        lines += self.targets()
        if self.failures:
            lines += ["## Runs that failed their checks (left out of the medians)", ""]
            lines += ["- %s, %s, round %d: %s" % f for f in self.failures]
            lines.append("")
        text = "\n".join(lines)
        with open(os.path.join(ROOT, self.args.report), "w") as f:
            f.write(text)
        print("\n" + text)

    def cli_start_ms(self):
        cpus = [spawn_and_wait([self.args.cli, "--help"], self.env())[3] for _ in range(5)]
        return statistics.median(cpus) * 1000

    def targets(self):
        out = ["## Targets (issue 10; reported, not enforced)", ""]
        cli40, node40 = self.medians("list-tls-40ms", "cli-curl"), self.medians("list-tls-40ms", "node")
        if cli40 and node40:
            pages = TOKENS // TAKE + 1
            server = cli40["server_ms"] / 1000.0
            nominal = pages * 2 * DELAY_MS / 1000.0 + server
            rtt = statistics.median(self.rtts)
            floor = pages * rtt + server
            out.append("- list all over the 40 ms TLS link, cbk-token as shipped: wall %.3f s = %.2fx node's "
                       "(target <= 0.92x: %s)" % (cli40["wall"], cli40["wall"] / node40["wall"],
                                                   met(cli40["wall"] <= 0.92 * node40["wall"])))
            out.append("- ... against the round-trip floor, pages x RTT + the server's time: the link's "
                       "measured RTT (tiny requests through proxy and front, median of one measure per "
                       "round) is %.2f ms, so %d x %.2f ms + "
                       "%.3f s = %.3f s; wall/floor %.3f (target <= 1.05: %s). With the nominal 40 ms: "
                       "floor %.3f s, wall/floor %.3f. The rest is the TCP connect and the TLS handshake "
                       "(2 round trips) and process start." % (
                           rtt * 1000, pages, rtt * 1000, server, floor, cli40["wall"] / floor,
                           met(cli40["wall"] <= 1.05 * floor), nominal, cli40["wall"] / nominal))
            out.append("- ... %g TCP connection(s) (target 1: %s), %g full TLS handshake(s) (target 1: %s)" % (
                cli40["connections"], met(cli40["connections"] == 1), cli40["full"], met(cli40["full"] == 1)))
        worst = {"cpu": (0, ""), "rss": (0, "")}
        for scenario in SCENARIOS:
            base = self.medians(scenario, "node")
            for client in ("lib", "cli-curl", "cli-posix"):
                m = self.medians(scenario, client)
                if not (m and base):
                    continue
                for k in worst:
                    r = m[k] / base[k]
                    if r > worst[k][0]:
                        worst[k] = (r, "%s/%s" % (scenario, client))
        for k, name in (("cpu", "CPU"), ("rss", "peak RSS")):
            if worst[k][1]:
                out.append("- %s at most 0.15x node's in every scenario: worst %.3fx (%s): %s"
                           % (name, worst[k][0], worst[k][1], met(worst[k][0] <= 0.15)))
        node_s = self.medians("stream", "node")
        for client in ("cli-curl", "lib"):
            m = self.medians("stream", client)
            if m and node_s:
                out.append("- the stream, %s: %.2fx node's wall (target <= 0.5x): %s"
                           % (client, m["wall"] / node_s["wall"], met(m["wall"] <= 0.5 * node_s["wall"])))
        out.append("")
        return out


def met(ok):
    return "met" if ok else "NOT met"


def curl_version():
    try:
        return subprocess.run(["curl-config", "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "libcurl ?"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--out", default="build/bench-e2e")
    p.add_argument("--only", default=",".join(SCENARIOS))
    p.add_argument("--clients", default=",".join(CLIENTS))
    p.add_argument("--cli", default="examples/cbk-token", help="the CLI binary (e.g. an older build)")
    p.add_argument("--report", default="build/bench-e2e.md")
    args = p.parse_args()
    args.only = args.only.split(",")
    args.clients = args.clients.split(",")
    global MEASURE
    MEASURE = os.path.join(ROOT, args.out, "measure")
    bench = Bench(args)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(2))
    try:
        bench.make_cert()
        bench.start()
        bench.go()
        bench.report()
    finally:
        bench.servers.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
