// Runs node-resque's Scheduler (moves due delayed jobs to their queues) until SIGTERM /
// SIGINT, polling every --timeout milliseconds (default 100).
//
//   node scheduler.js REDIS_URL [--timeout MS]
"use strict";

const { NodeResque, connectionFor, usage, fail, untilSignal } = require("./peer");

async function main() {
  const [url, flag, value] = process.argv.slice(2);
  if (!url || (flag !== undefined && flag !== "--timeout")) {
    usage("scheduler.js REDIS_URL [--timeout MS]");
  }
  const scheduler = new NodeResque.Scheduler({
    connection: connectionFor(url),
    timeout: flag ? Number(value) : 100,
  });
  scheduler.on("error", (error) => console.log(`error ${error}`));
  scheduler.on("leader", () => console.log("leader"));
  scheduler.on("transferredJob", (timestamp, job) =>
    console.log(`transferred ${timestamp} ${job.queue} ${job.class}`),
  );
  untilSignal(() => scheduler.end());
  await scheduler.connect();
  await scheduler.start();
  console.log("started");
}

main().catch(fail);
