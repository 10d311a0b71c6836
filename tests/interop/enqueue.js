// Enqueues jobs through node-resque's Queue API.
//
//   node enqueue.js REDIS_URL JOBS_FILE
//
// JOBS_FILE is a JSON array of {"queue", "class", "args", "at"?, "in"?}: "at" (epoch
// milliseconds) uses queue.enqueueAt, "in" (milliseconds) queue.enqueueIn, neither
// queue.enqueue. Prints {"enqueued": N, "delayed": M} on stdout.
"use strict";

const fs = require("fs");
const { NodeResque, connectionFor, usage, fail } = require("./peer");

async function main() {
  const [url, file] = process.argv.slice(2);
  if (!url || !file) usage("enqueue.js REDIS_URL JOBS_FILE");
  const jobs = JSON.parse(fs.readFileSync(file, "utf8"));

  const queue = new NodeResque.Queue({ connection: connectionFor(url) });
  queue.on("error", fail);
  await queue.connect();

  let enqueued = 0;
  let delayed = 0;
  for (const job of jobs) {
    if (job.at !== undefined) {
      await queue.enqueueAt(job.at, job.queue, job.class, job.args);
      delayed++;
    } else if (job.in !== undefined) {
      await queue.enqueueIn(job.in, job.queue, job.class, job.args);
      delayed++;
    } else {
      await queue.enqueue(job.queue, job.class, job.args);
      enqueued++;
    }
  }
  await queue.end();
  process.stdout.write(JSON.stringify({ enqueued, delayed }) + "\n");
}

main().catch(fail);
