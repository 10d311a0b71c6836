// Runs one node-resque Worker and records what its jobs receive in Redis lists (outside
// any namespace, so they never look like Resque data).
//
//   node worker.js REDIS_URL QUEUES [--jobs N] [--timeout MS] [--name NAME]
//
// QUEUES is comma-separated ("*" for all). Job classes:
//   Record  pushes JSON.stringify(args) (args as node-resque passed them) to
//           interop:received
//   Marker  sleeps args[1] ms (if given), then pushes "node:<args[0]>" to test:exec (the
//           list tests/tools/marker_worker writes bare markers to)
//   Slow    sleeps args[0] ms
//   Boom    throws new Error(args[0])
// Exits 0 after N jobs (successes and failures) when --jobs is given, else at SIGTERM /
// SIGINT; either way it unregisters first (worker.end()). Prints one line per event.
"use strict";

const { NodeResque, connectionFor, usage, fail, untilSignal } = require("./peer");

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function parseOptions(argv) {
  const [url, queues, ...rest] = argv;
  if (!url || !queues) usage("worker.js REDIS_URL QUEUES [--jobs N] [--timeout MS] [--name NAME]");
  const options = { url, queues: queues.split(","), jobs: 0, timeout: 100, name: undefined };
  for (let i = 0; i < rest.length; i += 2) {
    const value = rest[i + 1];
    if (rest[i] === "--jobs") options.jobs = Number(value);
    else if (rest[i] === "--timeout") options.timeout = Number(value);
    else if (rest[i] === "--name") options.name = value;
    else usage(`unknown option ${rest[i]}`);
  }
  return options;
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  let worker;
  const jobs = {
    Record: {
      perform: async (...args) => {
        await worker.connection.redis.rpush("interop:received", JSON.stringify(args));
      },
    },
    Marker: {
      perform: async (marker, sleepMs) => {
        if (sleepMs) await sleep(sleepMs);
        await worker.connection.redis.rpush("test:exec", `node:${marker}`);
      },
    },
    Slow: {
      perform: async (ms) => sleep(ms),
    },
    Boom: {
      perform: async (message) => {
        throw new Error(String(message));
      },
    },
  };

  worker = new NodeResque.Worker(
    {
      connection: connectionFor(options.url),
      queues: options.queues.length === 1 && options.queues[0] === "*" ? "*" : options.queues,
      timeout: options.timeout,
      name: options.name,
    },
    jobs,
  );

  let done = 0;
  const stopOnce = untilSignal(() => worker.end());
  const finished = () => {
    done++;
    if (options.jobs > 0 && done >= options.jobs) stopOnce();
  };
  worker.on("success", (queue, job) => {
    console.log(`success ${queue} ${job.class}`);
    finished();
  });
  worker.on("failure", (queue, job, error) => {
    console.log(`failure ${queue} ${job.class} ${error}`);
    finished();
  });
  worker.on("error", (error, queue) => console.log(`error ${queue} ${error}`));

  await worker.connect();
  await worker.start();
  console.log(`started ${worker.name}`);
}

main().catch(fail);
