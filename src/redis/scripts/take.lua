-- Finish the job a worker holds (if any) and reserve its next one, in one atomic step.
-- A job is always in exactly one place: its queue, or this worker's in-flight entry
-- (with the Resque-visible `worker:<id>` record beside it), or the failure list / done.
--
-- KEYS[1] worker:<id>         KEYS[2] cpp:inflight (hash, field = worker id)
-- KEYS[3] stat:processed      KEYS[4] stat:processed:<id>
-- KEYS[5] stat:failed         KEYS[6] stat:failed:<id>
-- KEYS[7] failure list        KEYS[8] failed_queues
-- KEYS[9] pause-all-workers   KEYS[10] queue key to requeue into (finish = requeue)
-- KEYS[11..] queue keys, in priority order
-- ARGV[1] worker id           ARGV[2] token of the job being finished ("" = none)
-- ARGV[3] finish: "ok" | "failed" | "requeue" | ""
-- ARGV[4] failure record JSON ARGV[5] failure list name for failed_queues ("" = none)
-- ARGV[6] "1" to reserve      ARGV[7] token for the new reservation
-- ARGV[8] run_at              ARGV[9] cpp:stat:processed: prefix (per-minute counter)
-- ARGV[10] cpp:stat:failed: prefix   ARGV[11] per-minute counter TTL (seconds)
-- ARGV[12..] per queue: raw name, JSON-encoded name
--
-- Returns {"job", token, queue, payload} | {"empty"} | {"paused"} | {"wrongtype", queue}
-- | {"finished"}; a second element "lost" in {"finished"} or "empty" results means
-- the job being finished was no longer held (recovered elsewhere).

local id = ARGV[1]
local held = redis.call('HGET', KEYS[2], id)

local function split(entry)
  local a = string.find(entry, '\n', 1, true)
  local b = string.find(entry, '\n', a + 1, true)
  return string.sub(entry, 1, a - 1), string.sub(entry, a + 1, b - 1), string.sub(entry, b + 1)
end

-- The dashboard's graphs: one counter per minute by Redis's clock, kept for ARGV[11] s.
local function count_minute(prefix)
  local key = prefix .. math.floor(tonumber(redis.call('TIME')[1]) / 60)
  redis.call('INCRBY', key, 1)
  redis.call('EXPIRE', key, ARGV[11])
end

local lost = nil
if ARGV[2] ~= '' then
  local token, queue, payload = nil, nil, nil
  if held then token, queue, payload = split(held) end
  if token == ARGV[2] then
    if ARGV[3] == 'requeue' then
      redis.call('LPUSH', KEYS[10], payload)
    else
      redis.call('INCRBY', KEYS[3], 1)
      redis.call('INCRBY', KEYS[4], 1)
      count_minute(ARGV[9])
      if ARGV[3] == 'failed' then
        redis.call('RPUSH', KEYS[7], ARGV[4])
        if ARGV[5] ~= '' then redis.call('SADD', KEYS[8], ARGV[5]) end
        redis.call('INCRBY', KEYS[5], 1)
        redis.call('INCRBY', KEYS[6], 1)
        count_minute(ARGV[10])
      end
    end
    redis.call('DEL', KEYS[1])
    redis.call('HDEL', KEYS[2], id)
    held = false
  else
    lost = 'lost'
  end
end

if ARGV[6] ~= '1' then return {'finished', lost} end

-- A reservation made by a call whose reply was lost (connection drop) is handed back
-- instead of taking another job: retrying this script never strands a job.
if held then
  local token, queue, payload = split(held)
  return {'job', token, queue, payload}
end

local pause = redis.call('GET', KEYS[9])
if pause and string.lower(string.match(pause, '^%s*(.-)%s*$')) == 'true' then
  return {'paused'}
end

local function record(queue_json, payload)
  local ok, decoded = pcall(cjson.decode, payload)
  local is_object = ok and type(decoded) == 'table' and string.match(payload, '^%s*{') ~= nil
  local field = payload
  if not is_object then field = cjson.encode(payload) end
  return '{"queue":' .. queue_json .. ',"run_at":"' .. ARGV[8] .. '","payload":' .. field .. '}'
end

for i = 11, #KEYS do
  local name = ARGV[12 + (i - 11) * 2]
  local popped = redis.pcall('LPOP', KEYS[i])
  if type(popped) == 'table' and popped.err then return {'wrongtype', name} end
  if popped then
    redis.call('HSET', KEYS[2], id, ARGV[7] .. '\n' .. name .. '\n' .. popped)
    redis.call('SET', KEYS[1], record(ARGV[13 + (i - 11) * 2], popped))
    return {'job', ARGV[7], name, popped}
  end
end
return {'empty', lost}
