// Shared by the node-resque peer scripts: the connection options for a redis:// URL and
// small helpers. Each script plays one role for tests/integration/interop_*_test.cpp.
"use strict";

const NodeResque = require("node-resque");

// node-resque takes host/port/database, not a URL; the namespace defaults to "resque"
// like ours, and RESQUE_NAMESPACE overrides it for both.
function connectionFor(url) {
  const parsed = new URL(url);
  const database = parsed.pathname.replace(/^\//, "");
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 6379),
    database: database === "" ? 0 : Number(database),
    namespace: process.env.RESQUE_NAMESPACE || "resque",
  };
}

// Usage errors exit 2, like our CLI.
function usage(text) {
  process.stderr.write(`usage: ${text}\n`);
  process.exit(2);
}

// Any unexpected error ends the script with status 1 and one line on stderr.
function fail(error) {
  process.stderr.write(`${process.argv[1]}: ${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
}

// Runs `fn` until SIGTERM/SIGINT or until `fn` resolves; `stop` is awaited before exit.
function untilSignal(stop) {
  let stopping = false;
  const onSignal = async () => {
    if (stopping) return;
    stopping = true;
    try {
      await stop();
      process.exit(0);
    } catch (error) {
      fail(error);
    }
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  return onSignal;
}

module.exports = { NodeResque, connectionFor, usage, fail, untilSignal };
