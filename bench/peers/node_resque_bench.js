// node-resque, measured as scripts/bench measures every system (see common.js):
//
//   node node_resque_bench.js REDIS_URL [--jobs N] [--workers W] ...   (flushes the db)
//
// Workers: W processes, each running kWorkersPerProcess node-resque Workers (what a
// MultiWorker runs, without its event-loop-driven resizing) that poll every kPollMs, the
// smallest timeout node-resque takes (it also pings Redis at that interval while idle).
// node-resque has no bulk enqueue: that figure is null.
"use strict";

const { Queue, Worker } = require("node-resque");
const common = require("./common");

const kQueue = "bench";
const kWorkersPerProcess = 5;
const kPollMs = 1;
const kVersion = require("node-resque/package.json").version;

function connection(url) {
  return { connection: { ...common.redisOptions(url), namespace: "resque" } };
}

async function runWorker(url) {
  const reporter = new common.ProgressReporter(url);
  const jobs = { Noop: { perform: (enqueuedUs) => reporter.jobDone(enqueuedUs) } };
  const workers = [];
  for (let i = 1; i <= kWorkersPerProcess; ++i) {
    const worker = new Worker(
        { ...connection(url), queues: [kQueue], timeout: kPollMs, name: `bench:${process.pid}+${i}` },
        jobs);
    worker.on("error", common.fail);
    await worker.connect();
    await worker.start();
    workers.push(worker);
  }
  await reporter.ready();
}

async function runCoordinator(options) {
  const queue = new Queue(connection(options.url));
  queue.on("error", common.fail);
  await queue.connect();
  const redis = queue.connection.redis;
  await common.runCoordinator(options, {
    system: `node-resque ${kVersion}, ${options.workers} processes x ${kWorkersPerProcess} workers, poll ${kPollMs} ms`,
    workerScript: __filename,
    enqueue: (enqueuedUs) => queue.enqueue(kQueue, "Noop", [enqueuedUs]),
    bulkEnqueue: null,
    // Jobs wait under another key while the workers start, then come back in one step.
    hold: () => redis.rename(`resque:queue:${kQueue}`, `resque:hold:${kQueue}`),
    release: () => redis.rename(`resque:hold:${kQueue}`, `resque:queue:${kQueue}`),
    close: () => queue.end(),
  });
}

const options = common.parseArgs(process.argv.slice(2));
(options.worker ? runWorker(options.url) : runCoordinator(options)).catch(common.fail);
