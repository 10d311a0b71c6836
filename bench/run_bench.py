#!/usr/bin/env python3
"""Side-by-side benchmark: resque-cpp against Sidekiq, BullMQ and node-resque, with
redis-benchmark as the Redis-bound limit, all against one private redis-server.

Called by scripts/bench (which installs the peers and builds first). Each round runs
every system once, in an order rotated from round to round, with FLUSHALL before each;
the table shows the median over the rounds. Raw results go to a JSON file.

Every system prints one JSON object on its last stdout line with the keys in METRICS
plus "system" (bench/peers/common.js describes how the peers measure).
"""

import argparse
import csv
import datetime
import io
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = os.path.join(ROOT, "bench", "peers")

METRICS = [
    "enqueue_jobs_per_s",
    "bulk_enqueue_jobs_per_s",
    "drain_jobs_per_s",
    "pickup_p50_ms",
    "pickup_p99_ms",
    "pickup_max_ms",
    "rss_mb",
]
# Job-system rows of the table, in order: key, label.
SYSTEMS = [
    ("resque-cpp", "resque-cpp"),
    ("sidekiq", "Sidekiq"),
    ("bullmq", "BullMQ"),
    ("node-resque", "node-resque"),
]
# redis-benchmark runs: key, extra arguments.
REDIS_BENCHMARKS = [
    ("c1", ["-c", "1"]),
    ("c50", ["-c", "50"]),
    ("c50_p16", ["-c", "50", "-P", "16"]),
]


def parse_args():
    parser = argparse.ArgumentParser(
        prog="scripts/bench", description=__doc__.split("\n\n")[0],
        epilog="scripts/bench also takes --no-build: measure the build/resque already there.")
    parser.add_argument("--rounds", type=int, help="rounds of every system (default 3, 1 with --quick)")
    parser.add_argument("--jobs", type=int, help="jobs per measurement (default 20000, 2000 with --quick)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes per system (default 2)")
    parser.add_argument("--pickup-jobs", type=int, help="paced jobs for pick-up latency (default 300, 50 with --quick)")
    parser.add_argument("--quick", action="store_true", help="a fast smoke run: 1 round of small sizes")
    parser.add_argument("--only", help="comma-separated subset of: redis-benchmark," + ",".join(k for k, _ in SYSTEMS))
    parser.add_argument("--resque", default=os.path.join(ROOT, "build", "resque"), help="the resque binary")
    parser.add_argument("--out", default=os.path.join(ROOT, "build", "bench-results.json"), help="raw results file")
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed per system run")
    args = parser.parse_args()
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.jobs = args.jobs or (2000 if args.quick else 20000)
    args.pickup_jobs = args.pickup_jobs or (50 if args.quick else 300)
    args.redis_requests = 20000 if args.quick else 100000
    known = ["redis-benchmark"] + [k for k, _ in SYSTEMS]
    args.only = args.only.split(",") if args.only else known
    for name in args.only:
        if name not in known:
            parser.error(f'--only: unknown system "{name}" (known: {", ".join(known)})')
    if min(args.rounds, args.jobs, args.workers, args.pickup_jobs) < 1:
        parser.error("--rounds, --jobs, --workers and --pickup-jobs must be positive")
    return args


class RedisServer:
    """A private redis-server on a free loopback port, without persistence."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="resque-bench-")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir, "--logfile", os.path.join(self.dir, "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while self.cli("PING") != "PONG":
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"redis-server did not start on port {self.port} (log in {self.dir})")
            time.sleep(0.05)

    def cli(self, *command):
        result = subprocess.run(["redis-cli", "-p", str(self.port), *command],
                                capture_output=True, text=True)
        return result.stdout.strip()

    def version(self):
        for line in self.cli("INFO", "server").splitlines():
            if line.startswith("redis_version:"):
                return line.split(":", 1)[1]
        return "?"

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def display_path(path):
    """`path` relative to the repository when it is inside it."""
    relative = os.path.relpath(os.path.abspath(path), ROOT)
    return path if relative.startswith("..") else relative


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def system_commands(args, url):
    """The command measuring each job system, or the reason it cannot run here."""
    common = ["--jobs", str(args.jobs), "--workers", str(args.workers)]
    peer_args = common + ["--pickup-jobs", str(args.pickup_jobs)]
    commands = {}

    if not os.access(args.resque, os.X_OK):
        commands["resque-cpp"] = f"{display_path(args.resque)} not found (run scripts/setup)"
    elif not has_bench_command(args.resque):
        commands["resque-cpp"] = f"{display_path(args.resque)} has no bench command yet"
    else:
        command = [args.resque, "--redis", url, "bench", *common, "--json"]
        bench_help = subprocess.run([args.resque, "bench", "--help"], capture_output=True, text=True).stdout
        if "--pickup-jobs" in bench_help:
            command += ["--pickup-jobs", str(args.pickup_jobs)]
        commands["resque-cpp"] = command

    if not os.path.isdir(os.path.join(PEERS, "node_modules")):
        missing = "bench/peers/node_modules missing (run scripts/bench, which runs npm ci)"
        commands["bullmq"] = commands["node-resque"] = missing
    else:
        commands["bullmq"] = ["node", os.path.join(PEERS, "bullmq_bench.js"), url, *peer_args]
        commands["node-resque"] = ["node", os.path.join(PEERS, "node_resque_bench.js"), url, *peer_args]

    probe = subprocess.run(["ruby", "-e", 'require "sidekiq"; require "redis"'], capture_output=True, text=True) \
        if shutil.which("ruby") and shutil.which("sidekiq") else None
    if probe is None or probe.returncode != 0:
        commands["sidekiq"] = "ruby or Debian's ruby-sidekiq is not installed"
    else:
        commands["sidekiq"] = ["ruby", os.path.join(PEERS, "sidekiq_bench.rb"), url, *peer_args]
    return commands


def has_bench_command(resque):
    """Whether `resque --help` lists a bench subcommand (older builds have none)."""
    shown = subprocess.run([resque, "--help"], capture_output=True, text=True).stdout
    listed = shown.split("Subcommands:", 1)[-1].splitlines()
    return any(line.split()[:1] == ["bench"] for line in listed)


def run_system(command, timeout):
    """Runs one system's measurement; returns its JSON result, or {"error": ...}."""
    if isinstance(command, str):
        return {"error": command}
    # Its own process group, so that a run that hangs goes with its worker processes.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=ROOT, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return {"error": f"timed out after {timeout:.0f} s"}
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # any worker its coordinator left behind
        except ProcessLookupError:
            pass
    lines = stdout.strip().splitlines()
    if process.returncode != 0 or not lines:
        tail = (stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {process.returncode}: {tail}"}
    try:
        result = json.loads(lines[-1])
    except json.JSONDecodeError:
        return {"error": f"last line is not JSON: {lines[-1][:120]}"}
    missing = [key for key in METRICS + ["system"] if key not in result]
    if missing:
        return {"error": f"result lacks {', '.join(missing)}"}
    return result


def run_redis_benchmark(server, requests):
    """PING and RPUSH ops/s for one client, 50 clients, and 50 clients pipelining 16."""
    result = {}
    for key, extra in REDIS_BENCHMARKS:
        done = subprocess.run(
            ["redis-benchmark", "-p", str(server.port), "-t", "ping,rpush", "-n", str(requests), "--csv", *extra],
            capture_output=True, text=True)
        if done.returncode != 0:
            return {"error": f"redis-benchmark exit {done.returncode}: {done.stderr.strip()[-200:]}"}
        for row in csv.DictReader(io.StringIO(done.stdout)):
            test = {"PING_MBULK": "ping", "RPUSH": "rpush"}.get(row["test"])
            if test:
                result[f"{test}_{key}_ops_per_s"] = float(row["rps"])
        server.cli("FLUSHALL")
    return result


def median_of(rounds, system, metric):
    values = [r[system][metric] for r in rounds
              if system in r and r[system].get(metric) is not None]
    return statistics.median(values) if values else None


def ratio(numerator, denominator):
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def fmt(value, digits=0):
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}"


def report(args, rounds, server_version, load_before):
    """Prints the markdown tables; returns the medians and ratios."""
    medians = {}
    systems_seen = {}
    for key, _ in SYSTEMS:
        medians[key] = {m: median_of(rounds, key, m) for m in METRICS}
        systems_seen[key] = next((r[key]["system"] for r in rounds if r.get(key, {}).get("system")), None)
    redis_keys = sorted({k for r in rounds for k in r.get("redis-benchmark", {}) if k.endswith("_ops_per_s")})
    medians["redis-benchmark"] = {k: median_of(rounds, "redis-benchmark", k) for k in redis_keys}

    print(f"\n{args.rounds} round(s), {args.jobs} jobs, {args.workers} worker processes, "
          f"{args.pickup_jobs} pick-up jobs; medians; Redis {server_version}, {os.cpu_count()} cores, "
          f"load average {load_before[0]:.1f} before and {os.getloadavg()[0]:.1f} after\n")
    print("| system | drain jobs/s | enqueue jobs/s | bulk enqueue jobs/s | pick-up p50 ms | pick-up p99 ms | peak RSS MB/process |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for key, label in SYSTEMS:
        m = medians[key]
        print(f"| {label} | {fmt(m['drain_jobs_per_s'])} | {fmt(m['enqueue_jobs_per_s'])} "
              f"| {fmt(m['bulk_enqueue_jobs_per_s'])} | {fmt(m['pickup_p50_ms'], 2)} "
              f"| {fmt(m['pickup_p99_ms'], 2)} | {fmt(m['rss_mb'], 1)} |")

    rb = medians["redis-benchmark"]
    print("\n| redis-benchmark (the Redis-bound limit) | PING ops/s | RPUSH ops/s |")
    print("| --- | ---: | ---: |")
    for key, label in [("c1", "1 client"), ("c50", "50 clients"), ("c50_p16", "50 clients, pipeline 16")]:
        print(f"| {label} | {fmt(rb.get(f'ping_{key}_ops_per_s'))} | {fmt(rb.get(f'rpush_{key}_ops_per_s'))} |")

    cpp, sidekiq, bullmq = medians["resque-cpp"], medians["sidekiq"], medians["bullmq"]
    peers_drain = [v for v in (sidekiq["drain_jobs_per_s"], bullmq["drain_jobs_per_s"]) if v is not None]
    ratios = {
        "drain_vs_best_of_sidekiq_bullmq": ratio(cpp["drain_jobs_per_s"], max(peers_drain) if peers_drain else None),
        "enqueue_vs_redis_benchmark_rpush_1_client": ratio(cpp["enqueue_jobs_per_s"], rb.get("rpush_c1_ops_per_s")),
        "bulk_enqueue_vs_sidekiq_bulk": ratio(cpp["bulk_enqueue_jobs_per_s"], sidekiq["bulk_enqueue_jobs_per_s"]),
        "pickup_p99_vs_sidekiq_p99": ratio(cpp["pickup_p99_ms"], sidekiq["pickup_p99_ms"]),
    }
    print("\nRatios (medians):\n")
    print(f"- resque-cpp drain ÷ best of Sidekiq/BullMQ drain: {fmt(ratios['drain_vs_best_of_sidekiq_bullmq'], 2)}")
    print(f"- resque-cpp enqueue ÷ redis-benchmark 1-client RPUSH: {fmt(ratios['enqueue_vs_redis_benchmark_rpush_1_client'], 2)}")
    print(f"- resque-cpp bulk enqueue ÷ Sidekiq push_bulk: {fmt(ratios['bulk_enqueue_vs_sidekiq_bulk'], 2)}")
    print(f"- resque-cpp pick-up p99 ÷ Sidekiq pick-up p99 (lower is better): {fmt(ratios['pickup_p99_vs_sidekiq_p99'], 2)}")

    print("\nSystems:")
    for key, label in SYSTEMS:
        errors = sorted({r[key]["error"] for r in rounds if "error" in r.get(key, {})})
        what = systems_seen[key] or "n/a"
        print(f"- {label}: {what}" + (f" (failed: {'; '.join(errors)})" if errors else ""))
    return medians, ratios


def main():
    args = parse_args()
    load_before = os.getloadavg()
    server = RedisServer()
    rounds = []
    try:
        commands = system_commands(args, server.url)
        order = [k for k in ["redis-benchmark"] + [k for k, _ in SYSTEMS] if k in args.only]
        for number in range(args.rounds):
            # Rotate the order so no system always runs right after the same neighbour.
            shift = number % len(order)
            results = {}
            for key in order[shift:] + order[:shift]:
                server.cli("FLUSHALL")
                started = time.monotonic()
                if key == "redis-benchmark":
                    results[key] = run_redis_benchmark(server, args.redis_requests)
                else:
                    results[key] = run_system(commands[key], args.timeout)
                took = time.monotonic() - started
                state = results[key].get("error", "ok")
                print(f"round {number + 1}/{args.rounds}: {key} {took:.1f} s {state}", file=sys.stderr)
            rounds.append(results)
        server_version = server.version()
    finally:
        server.stop()

    medians, ratios = report(args, rounds, server_version, load_before)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as out:
        json.dump({
            "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "config": {k: getattr(args, k) for k in ("rounds", "jobs", "workers", "pickup_jobs", "redis_requests")},
            "machine": {"cores": os.cpu_count(), "loadavg_before": load_before, "loadavg_after": os.getloadavg(),
                        "redis_version": server_version},
            "rounds": rounds,
            "medians": medians,
            "ratios": ratios,
        }, out, indent=2)
    print(f"\nraw results: {display_path(args.out)}")


if __name__ == "__main__":
    main()
