// Reads (and edits) Resque data through node-resque's Queue API and prints the answer as
// one JSON object on stdout.
//
//   node queue.js REDIS_URL snapshot
//       {queues, lengths, queued, workers, workingOn, failedCount, failed, stats,
//        timestamps, delayed, leader, errors}: every read the Queue API offers
//   node queue.js REDIS_URL snapshot-dbs COUNT [NAMESPACES]
//       {"dbs": [snapshot of database 0, ..., of database COUNT-1]} (the URL's database
//       is ignored); NAMESPACES is a comma-separated namespace per database (default
//       resque for all)
//   node queue.js REDIS_URL removeFailed INDEX            {"removed": count}
//   node queue.js REDIS_URL retryAndRemoveFailed INDEX    {"retried": true} | {"error": msg}
//   node queue.js REDIS_URL cleanOldWorkers AGE_MS        {"cleaned": {...}, "errors": [...]}
//   node queue.js REDIS_URL scheduledAt QUEUE CLASS ARGS  {"timestamps": [...]}
//   node queue.js REDIS_URL delDelayed QUEUE CLASS ARGS   {"timestamps": [...]}
//   node queue.js REDIS_URL del QUEUE CLASS ARGS          {"removed": count}
// INDEX is a position in queue.failed(0, -1); ARGS is a JSON array.
"use strict";

const { NodeResque, connectionFor, usage, fail } = require("./peer");

// A read node-resque cannot do (e.g. JSON.parse of an entry that is not JSON) becomes
// {"error": message} in its place, so one bad key does not hide the other answers.
async function attempt(read) {
  try {
    return await read();
  } catch (error) {
    return { error: String(error && error.message ? error.message : error) };
  }
}

async function snapshot(queue) {
  const queues = (await queue.queues()).sort();
  const lengths = {};
  const queued = {};
  for (const name of queues) {
    lengths[name] = await attempt(() => queue.length(name));
    queued[name] = await attempt(() => queue.queued(name, 0, -1));
  }
  return {
    queues,
    lengths,
    queued,
    workers: await attempt(() => queue.workers()),
    workingOn: await attempt(() => queue.allWorkingOn()),
    failedCount: await attempt(() => queue.failedCount()),
    failed: await attempt(() => queue.failed(0, -1)),
    stats: await attempt(() => queue.stats()),
    timestamps: await attempt(() => queue.timestamps()),
    delayed: await attempt(() => queue.allDelayed()),
    leader: await attempt(() => queue.leader()),
  };
}

async function failedAt(queue, index) {
  const all = await queue.failed(0, -1);
  if (!(index >= 0 && index < all.length)) throw new Error(`no failure at index ${index}`);
  return all[index];
}

async function run(queue, command, args) {
  switch (command) {
    case "snapshot":
      return snapshot(queue);
    case "removeFailed":
      return { removed: await queue.removeFailed(await failedAt(queue, Number(args[0]))) };
    case "retryAndRemoveFailed":
      try {
        await queue.retryAndRemoveFailed(await failedAt(queue, Number(args[0])));
        return { retried: true };
      } catch (error) {
        return { error: error.message };
      }
    case "cleanOldWorkers":
      return { cleaned: await queue.cleanOldWorkers(Number(args[0])) };
    case "scheduledAt":
      return { timestamps: await queue.scheduledAt(args[0], args[1], JSON.parse(args[2])) };
    case "delDelayed":
      return { timestamps: await queue.delDelayed(args[0], args[1], JSON.parse(args[2])) };
    case "del":
      return { removed: await queue.del(args[0], args[1], JSON.parse(args[2])) };
    default:
      usage(`unknown command ${command}`);
  }
}

// One connection per database, one after the other.
async function snapshotDatabases(url, count, namespaces, errors) {
  const dbs = [];
  for (let database = 0; database < count; database++) {
    const namespace = namespaces[database] || connectionFor(url).namespace;
    const queue = new NodeResque.Queue({
      connection: { ...connectionFor(url), database, namespace },
    });
    queue.on("error", (error) => errors.push(String(error)));
    await queue.connect();
    dbs.push(await snapshot(queue));
    await queue.end();
  }
  return { dbs };
}

async function main() {
  const [url, command, ...args] = process.argv.slice(2);
  if (!url || !command) usage("queue.js REDIS_URL COMMAND [ARGS...]");
  if (command === "snapshot-dbs") {
    const errors = [];
    const namespaces = args[1] ? args[1].split(",") : [];
    const result = await snapshotDatabases(url, Number(args[0]), namespaces, errors);
    process.stdout.write(JSON.stringify({ ...result, errors }) + "\n");
    return;
  }

  const queue = new NodeResque.Queue({ connection: connectionFor(url) });
  // forceCleanWorker reports some problems as "error" events (strings), not throws.
  const errors = [];
  queue.on("error", (error) => errors.push(String(error)));
  await queue.connect();
  const result = await run(queue, command, args);
  await queue.end();
  process.stdout.write(JSON.stringify({ ...result, errors }) + "\n");
}

main().catch(fail);
