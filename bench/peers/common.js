// Shared by the Node.js peer benchmarks (node_resque_bench.js, bullmq_bench.js): argument
// parsing, a microsecond wall clock, the progress protocol between the coordinator and
// its worker processes, percentiles, peak RSS, and the final JSON line.
//
// Progress protocol (also spoken by sidekiq_noop_job.rb, so every peer is timed alike):
//   bench:ready     set   a worker process adds its pid once it is ready to take jobs
//   bench:progress  hash  pid -> "<jobs done> <wall clock of the last one, µs>",
//                         written by each worker process every few ms when it changed
//   bench:pickup    list  pick-up latencies in µs (job start minus enqueue time)
// The job itself touches only memory; the reporter writes to Redis off the job path.
"use strict";

const fs = require("fs");
const { performance } = require("perf_hooks");
const Redis = require("ioredis");

const kReadyKey = "bench:ready";
const kProgressKey = "bench:progress";
const kPickupKey = "bench:pickup";
const kReportEveryMs = 5;

/** Wall clock in microseconds, with sub-millisecond resolution. */
function nowUs() {
  return (performance.timeOrigin + performance.now()) * 1000;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Parses `node script.js REDIS_URL [--jobs N] [--workers W] [--pickup-jobs P]
 * [--pickup-every-ms MS] [--timeout-s S]`, or `node script.js --worker REDIS_URL` in a
 * worker process.
 */
function parseArgs(argv) {
  const options = {
    worker: false,
    url: null,
    jobs: 20000,
    workers: 2,
    pickupJobs: 300,
    pickupEveryMs: 5,
    timeoutS: 300,
  };
  const numeric = {
    "--jobs": "jobs",
    "--workers": "workers",
    "--pickup-jobs": "pickupJobs",
    "--pickup-every-ms": "pickupEveryMs",
    "--timeout-s": "timeoutS",
  };
  for (let i = 0; i < argv.length; ++i) {
    const arg = argv[i];
    if (arg === "--worker") {
      options.worker = true;
    } else if (numeric[arg]) {
      const value = Number(argv[++i]);
      if (!Number.isFinite(value) || value <= 0) usage(`${arg} needs a positive number`);
      options[numeric[arg]] = value;
    } else if (!arg.startsWith("--") && options.url === null) {
      options.url = arg;
    } else {
      usage(`unknown argument "${arg}"`);
    }
  }
  if (options.url === null) usage("missing REDIS_URL");
  return options;
}

function usage(message) {
  console.error(`${message}
usage: node ${require("path").basename(process.argv[1])} REDIS_URL [--jobs N] [--workers W]
       [--pickup-jobs P] [--pickup-every-ms MS] [--timeout-s S]
Flushes the database at REDIS_URL: point it at a private redis-server.`);
  process.exit(2);
}

/** Host, port and db of a redis:// URL, as ioredis and BullMQ take them. */
function redisOptions(url) {
  const parsed = new URL(url);
  const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0;
  return { host: parsed.hostname, port: Number(parsed.port || 6379), db };
}

/**
 * Worker-process side of the progress protocol. Call `jobDone(enqueuedUs)` first thing in
 * the job (enqueuedUs > 0 marks a pick-up job), then `ready()` once the worker can take jobs.
 */
class ProgressReporter {
  constructor(url) {
    this.redis = new Redis(url);
    this.done = 0;
    this.lastDoneUs = 0;
    this.reported = -1;
    this.latencies = [];
    this.timer = setInterval(() => this.flush().catch(fail), kReportEveryMs);
  }

  jobDone(enqueuedUs) {
    const startUs = nowUs();
    if (enqueuedUs > 0) this.latencies.push(Math.round(startUs - enqueuedUs));
    this.done += 1;
    this.lastDoneUs = startUs;
  }

  async ready() {
    await this.redis.sadd(kReadyKey, String(process.pid));
  }

  async flush() {
    if (this.latencies.length > 0) {
      const batch = this.latencies;
      this.latencies = [];
      await this.redis.rpush(kPickupKey, ...batch);
    }
    if (this.done !== this.reported) {
      this.reported = this.done;
      const value = `${this.done} ${Math.round(this.lastDoneUs)}`;
      await this.redis.hset(kProgressKey, String(process.pid), value);
    }
  }
}

/** Coordinator side: waits until `count` worker processes said they are ready. */
async function waitReady(redis, count, timeoutS) {
  await waitFor(timeoutS, `${count} worker processes to be ready`, async () => {
    return (await redis.scard(kReadyKey)) >= count;
  });
}

/**
 * Coordinator side: waits until the workers together finished `total` jobs; returns the
 * wall clock (µs) of the last one.
 */
async function waitDone(redis, total, timeoutS) {
  let lastUs = 0;
  await waitFor(timeoutS, `${total} jobs to be done`, async () => {
    const progress = Object.values(await redis.hgetall(kProgressKey));
    let done = 0;
    lastUs = 0;
    for (const entry of progress) {
      const [count, last] = entry.split(" ").map(Number);
      done += count;
      lastUs = Math.max(lastUs, last);
    }
    return done >= total;
  });
  return lastUs;
}

/** Coordinator side: waits for `count` pick-up latencies; returns them in ms. */
async function pickupLatencies(redis, count, timeoutS) {
  await waitFor(timeoutS, `${count} pick-up latencies`, async () => {
    return (await redis.llen(kPickupKey)) >= count;
  });
  return (await redis.lrange(kPickupKey, 0, -1)).map((us) => Number(us) / 1000);
}

async function waitFor(timeoutS, what, condition) {
  const deadline = Date.now() + timeoutS * 1000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutS} s waiting for ${what}`);
    await sleep(2);
  }
}

/**
 * Calls `enqueue(enqueuedUs)` `count` times, one every `everyMs`, on an absolute schedule
 * so a slow call does not shift the ones after it.
 */
async function enqueuePaced(count, everyMs, enqueue) {
  const start = performance.now();
  for (let i = 0; i < count; ++i) {
    const wait = start + i * everyMs - performance.now();
    if (wait > 0) await sleep(wait);
    await enqueue(nowUs());
  }
}

/** Nearest-rank percentile of `values` (ms), p in [0, 1]. */
function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
}

/** Peak resident set size of process `pid` in MB (VmHWM), or null when unreadable. */
function peakRssMb(pid) {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

function round(value, digits) {
  if (value === null || value === undefined || !Number.isFinite(value)) return null;
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** Prints the result as the last stdout line, with exactly the keys scripts/bench reads. */
function printResult(result) {
  const line = {
    enqueue_jobs_per_s: round(result.enqueueJobsPerS, 0),
    bulk_enqueue_jobs_per_s: round(result.bulkEnqueueJobsPerS, 0),
    drain_jobs_per_s: round(result.drainJobsPerS, 0),
    pickup_p50_ms: round(percentile(result.pickupMs, 0.5), 3),
    pickup_p99_ms: round(percentile(result.pickupMs, 0.99), 3),
    pickup_max_ms: round(percentile(result.pickupMs, 1), 3),
    rss_mb: round(result.rssMb, 1),
    system: result.system,
  };
  console.log(JSON.stringify(line));
}

/**
 * Runs every measurement for one peer and prints the result line. `peer` supplies:
 *   system                 text for the table, e.g. "BullMQ 6.7.6, 2 processes x concurrency 10"
 *   workerScript           the script to start with `--worker URL` for each worker process
 *   enqueue(enqueuedUs)    enqueues one job carrying `enqueuedUs` (0 for a drain job)
 *   bulkEnqueue(count)     enqueues `count` jobs through the peer's bulk API, or null
 *   hold(), release()      keep the pre-enqueued jobs from idle workers, then hand them over
 *   close()
 * Drain is timed from release() (workers already running and idle, so interpreter boot is
 * not counted) to the end of the last job.
 */
async function runCoordinator(options, peer) {
  const redis = new Redis(options.url);
  const result = { system: peer.system, pickupMs: [] };
  await redis.flushdb();

  if (peer.bulkEnqueue) {
    const start = performance.now();
    await peer.bulkEnqueue(options.jobs);
    result.bulkEnqueueJobsPerS = options.jobs / ((performance.now() - start) / 1000);
    await redis.flushdb();
  }

  const start = performance.now();
  for (let i = 0; i < options.jobs; ++i) await peer.enqueue(0);
  result.enqueueJobsPerS = options.jobs / ((performance.now() - start) / 1000);

  await peer.hold();
  const workers = startWorkers(peer.workerScript, options);
  try {
    await waitReady(redis, options.workers, options.timeoutS);
    await sleep(200);  // let every worker reach its fetch loop
    const releasedUs = nowUs();
    await peer.release();
    const lastUs = await waitDone(redis, options.jobs, options.timeoutS);
    result.drainJobsPerS = options.jobs / ((lastUs - releasedUs) / 1e6);

    await sleep(100);
    await enqueuePaced(options.pickupJobs, options.pickupEveryMs, (us) => peer.enqueue(us));
    result.pickupMs = await pickupLatencies(redis, options.pickupJobs, options.timeoutS);
    result.rssMb = Math.max(...workers.map((child) => peakRssMb(child.pid) ?? 0)) || null;
  } finally {
    await stopWorkers(workers);
    await peer.close();
    redis.disconnect();
  }
  printResult(result);
}

// Worker processes of this coordinator, killed by fail() so none outlives it.
const children = [];

function startWorkers(script, options) {
  for (let i = 0; i < options.workers; ++i) {
    // Worker output goes to our stderr: stdout's last line is the result.
    const child = require("child_process").spawn(
        process.execPath, [script, "--worker", options.url],
        { stdio: ["ignore", process.stderr, process.stderr] });
    child.on("exit", (code, signal) => {
      if (!child.stopping) fail(new Error(`worker ${child.pid} exited (${code ?? signal})`));
    });
    children.push(child);
  }
  return children;
}

async function stopWorkers(workers) {
  await Promise.all(workers.map((child) => new Promise((resolve) => {
    child.stopping = true;
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const kill = setTimeout(() => child.kill("SIGKILL"), 10000);
    child.on("exit", () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill("SIGTERM");
  })));
}

function fail(error) {
  for (const child of children) {
    child.stopping = true;
    child.kill("SIGKILL");
  }
  console.error(`${require("path").basename(process.argv[1])}: ${error.message || error}`);
  process.exit(1);
}

module.exports = {
  nowUs,
  sleep,
  parseArgs,
  redisOptions,
  ProgressReporter,
  waitReady,
  waitDone,
  pickupLatencies,
  enqueuePaced,
  peakRssMb,
  runCoordinator,
  fail,
};
