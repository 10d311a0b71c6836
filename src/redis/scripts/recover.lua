-- Settle the jobs of a worker found dead and unregister it, exactly once: the caller
-- read the worker's state and decided; this script acts only if that state is still
-- what the caller saw (another pruner, or the worker itself, may have moved on).
--
-- KEYS[1] workers  KEYS[2] worker:<id>  KEYS[3] worker:<id>:started
-- KEYS[4] workers:heartbeat  KEYS[5] stat:processed:<id>  KEYS[6] stat:failed:<id>
-- KEYS[7] cpp:inflight  KEYS[8] cpp:inflight:running  KEYS[9] failure list
-- KEYS[10] queues set  KEYS[11] cpp:landing:<id>  KEYS[12] cpp:landing (hash)
-- ARGV[1] worker id  ARGV[2] expected in-flight batch ("" = none)
-- ARGV[3] expected running index ("" = none)  ARGV[4] expected worker record ("" = none)
-- ARGV[5] "requeue" | "fail" | "none"  ARGV[6] failure record for the running job
-- ARGV[7] queue key prefix  ARGV[8] payload of a job known only from the record (a
-- foreign worker's)  ARGV[9] its queue name
--
-- Of our batch, the running job (the one the record names) is failed under "fail";
-- when the record is gone another pruner (Ruby's: GET, RPUSH failed, DEL) already
-- settled that job, so only the others go back. Every other held job is requeued: it
-- had not started, or had finished without its outcome being recorded (at least once).
-- Returns 1 if it acted, 0 if the state had changed.

local batch = redis.call('HGET', KEYS[7], ARGV[1]) or ''
local running = redis.call('HGET', KEYS[8], ARGV[1]) or ''
local record = redis.call('GET', KEYS[2]) or ''
if batch ~= ARGV[2] or running ~= ARGV[3] or record ~= ARGV[4] then return 0 end

local function requeue(queue, payload)
  redis.call('LPUSH', ARGV[7] .. queue, payload)
  redis.call('SADD', KEYS[10], queue)
end

if batch ~= '' then
  local nl = string.find(batch, '\n', 1, true)
  local entries = {}
  local pos = nl + 1
  while pos <= #batch do
    local a = string.find(batch, '\n', pos, true)
    local b = string.find(batch, '\n', a + 1, true)
    local len = tonumber(string.sub(batch, a + 1, b - 1))
    entries[#entries + 1] = {string.sub(batch, pos, a - 1), string.sub(batch, b + 1, b + len)}
    pos = b + len + 1
  end
  local current = (tonumber(running) or 0) + 1
  for i = #entries, 1, -1 do
    if i ~= current then
      requeue(entries[i][1], entries[i][2])
    elseif record ~= '' then
      if ARGV[5] == 'fail' then
        redis.call('RPUSH', KEYS[9], ARGV[6])
      elseif ARGV[5] == 'requeue' then
        requeue(entries[i][1], entries[i][2])
      end
    end
  end
elseif ARGV[5] == 'requeue' then
  requeue(ARGV[9], ARGV[8])
elseif ARGV[5] == 'fail' then
  redis.call('RPUSH', KEYS[9], ARGV[6])
end

-- A job its blocking pop had moved, not yet part of a batch, never started as far as
-- anyone recorded: back to the head of its queue.
local landed_json = redis.call('HGET', KEYS[12], ARGV[1])
if landed_json then
  local landed = redis.call('LRANGE', KEYS[11], 0, -1)
  for i = #landed, 1, -1 do requeue(cjson.decode(landed_json), landed[i]) end
  redis.call('DEL', KEYS[11])
  redis.call('HDEL', KEYS[12], ARGV[1])
end

redis.call('SREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2], KEYS[3], KEYS[5], KEYS[6])
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('HDEL', KEYS[7], ARGV[1])
redis.call('HDEL', KEYS[8], ARGV[1])
return 1
