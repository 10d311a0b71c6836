// BullMQ, measured as scripts/bench measures every system (see common.js):
//
//   node bullmq_bench.js REDIS_URL [--jobs N] [--workers W] ...   (flushes the db)
//
// Workers: W processes, each one BullMQ Worker with concurrency kConcurrency. Jobs are
// removed when complete (as Resque does; BullMQ keeps them by default). Bulk enqueue is
// Queue.addBulk in batches of kBulkBatch.
"use strict";

const { Queue, Worker } = require("bullmq");
const common = require("./common");

const kQueue = "bench";
const kConcurrency = 10;
const kBulkBatch = 1000;
const kVersion = require("bullmq/package.json").version;
const kJobOptions = { removeOnComplete: true, removeOnFail: true };

function connection(url) {
  // A worker's blocking connection must retry forever (BullMQ requires it).
  return { ...common.redisOptions(url), maxRetriesPerRequest: null };
}

async function runWorker(url) {
  const reporter = new common.ProgressReporter(url);
  const worker = new Worker(kQueue, async (job) => reporter.jobDone(job.data.t), {
    connection: connection(url),
    concurrency: kConcurrency,
  });
  worker.on("error", common.fail);
  await worker.waitUntilReady();
  await reporter.ready();
}

async function runCoordinator(options) {
  const queue = new Queue(kQueue, { connection: connection(options.url), defaultJobOptions: kJobOptions });
  queue.on("error", common.fail);
  await queue.waitUntilReady();
  await common.runCoordinator(options, {
    system: `BullMQ ${kVersion}, ${options.workers} processes x concurrency ${kConcurrency}`,
    workerScript: __filename,
    enqueue: (enqueuedUs) => queue.add("noop", { t: enqueuedUs }),
    bulkEnqueue: async (count) => {
      for (let sent = 0; sent < count; sent += kBulkBatch) {
        const batch = Math.min(kBulkBatch, count - sent);
        await queue.addBulk(Array.from({ length: batch }, () => ({ name: "noop", data: { t: 0 } })));
      }
    },
    hold: () => queue.pause(),
    release: () => queue.resume(),
    close: () => queue.close(),
  });
}

const options = common.parseArgs(process.argv.slice(2));
(options.worker ? runWorker(options.url) : runCoordinator(options)).catch(common.fail);
