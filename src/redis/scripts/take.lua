-- Settle the batch of jobs a worker holds (if any) and reserve its next batch, in one
-- atomic step. A job is always in exactly one place: its queue, or this worker's
-- in-flight batch (worker/held_batch.hpp; the running one named by `worker:<id>`, which
-- Resque's tools show), or the failure list / done.
--
-- KEYS[1] worker:<id>          KEYS[2] cpp:inflight (hash, field = worker id)
-- KEYS[3] cpp:inflight:running KEYS[4] stat:processed  KEYS[5] stat:processed:<id>
-- KEYS[6] stat:failed          KEYS[7] stat:failed:<id> KEYS[8] failed_queues
-- KEYS[9] pause-all-workers    KEYS[10] queues (set)
-- KEYS[11] cpp:landing:<id> (list)  KEYS[12] cpp:landing (hash, id -> JSON queue name)
-- KEYS[13..] queue keys to reserve from, in priority order
-- ARGV[1] worker id            ARGV[2] token of the batch being settled ("" = none)
-- ARGV[3] outcomes, one letter per held job: o(k) f(ailed) r(equeue)
-- ARGV[4] number of failures F ARGV[5] queue key prefix (`<ns>:queue:`)
-- ARGV[6] how many jobs to reserve (0 = none)  ARGV[7] token for the new batch
-- ARGV[8] run_at               ARGV[9] per-minute processed key prefix
-- ARGV[10] per-minute failed key prefix
-- ARGV[11 .. 10+3F] per failure, in held order: failure list key, record, name for
--   failed_queues ("" = none)
-- then per queue to reserve from: raw name, JSON-encoded name
-- then, optionally, "no-payloads": the caller (adopting a landed job it already has)
--   discards the reply, so payloads are left out of it (a 64 MiB job would otherwise
--   come back whole, only to be read and dropped: FC-07)
--
-- A job an idle worker's blocking pop moved to its landing list (worker/idle_pop.hpp)
-- joins the new batch first, paused or not: the worker may be running it already.
--
-- Returns {"jobs", token, queue1, payload1, ...} | {"empty", lost} | {"paused", lost}
-- | {"wrongtype", queue} | {"finished", lost}; lost = "lost" when the batch being
-- settled was no longer held (recovered elsewhere while it ran).

local id = ARGV[1]
local held = redis.call('HGET', KEYS[2], id)
local failures = tonumber(ARGV[4])
local first_queue_arg = 11 + 3 * failures
local with_payloads = ARGV[first_queue_arg + 2 * (#KEYS - 12)] ~= 'no-payloads'

local function parse(batch)
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
  return string.sub(batch, 1, nl - 1), entries
end

local function bump(key, minute_prefix, n)
  if n == 0 then return end
  redis.call('INCRBY', key, n)
  if minute_prefix ~= '' then
    local minute_key = minute_prefix .. math.floor(tonumber(redis.call('TIME')[1]) / 60)
    redis.call('INCRBY', minute_key, n)
    redis.call('EXPIRE', minute_key, 172800)
  end
end

local lost = nil
if ARGV[2] ~= '' then
  local token, entries = nil, nil
  if held then token, entries = parse(held) end
  if token == ARGV[2] then
    local outcomes = ARGV[3]
    local ok, failed, f = 0, 0, 0
    -- Requeued jobs go back to the head of their queues in their original order.
    for i = #entries, 1, -1 do
      if string.sub(outcomes, i, i) == 'r' or string.sub(outcomes, i, i) == '' then
        redis.call('LPUSH', ARGV[5] .. entries[i][1], entries[i][2])
        redis.call('SADD', KEYS[10], entries[i][1])
      end
    end
    for i = 1, #entries do
      local outcome = string.sub(outcomes, i, i)
      if outcome == 'o' then
        ok = ok + 1
      elseif outcome == 'f' then
        local at = 11 + 3 * f
        redis.call('RPUSH', ARGV[at], ARGV[at + 1])
        if ARGV[at + 2] ~= '' then redis.call('SADD', KEYS[8], ARGV[at + 2]) end
        f = f + 1
      end
    end
    bump(KEYS[4], ARGV[9], ok + f)
    bump(KEYS[5], '', ok + f)
    bump(KEYS[6], ARGV[10], f)
    bump(KEYS[7], '', f)
    redis.call('DEL', KEYS[1])
    redis.call('HDEL', KEYS[2], id)
    redis.call('HDEL', KEYS[3], id)
    held = false
  elseif held and token == ARGV[7] then
    -- our own earlier call, whose reply was lost, settled the batch and reserved this one
  else
    lost = 'lost'
    if not held then
      -- a record re-created by a late pipelined update after recovery: not ours to keep
      redis.call('DEL', KEYS[1])
      redis.call('HDEL', KEYS[3], id)
    end
  end
end

local landed = redis.call('LRANGE', KEYS[11], 0, -1)
local landed_json = #landed > 0 and redis.call('HGET', KEYS[12], id)
local reserve = tonumber(ARGV[6])
if reserve == 0 then
  -- A worker taking no more puts a job that landed meanwhile back at the head.
  if landed_json then
    local name = cjson.decode(landed_json)
    for i = #landed, 1, -1 do redis.call('LPUSH', ARGV[5] .. name, landed[i]) end
    redis.call('DEL', KEYS[11])
  end
  return {'finished', lost}
end

-- A batch reserved by a call whose reply was lost (connection drop) is handed back
-- instead of taking more: retrying this script never strands a job.
if held then
  local token, entries = parse(held)
  local out = {'jobs', token}
  for i = 1, #entries do
    out[#out + 1] = entries[i][1]
    out[#out + 1] = with_payloads and entries[i][2] or ''
  end
  return out
end

-- The payload goes into the record as-is when it is a JSON object, else as a string.
-- Above 1 MiB only its first and last characters are looked at: decoding tens of MiB
-- here would hold up every client of this Redis (FC-07). Limitation: a large payload
-- that starts with `{` and ends with `}` but is not JSON makes a record Resque's tools
-- cannot parse, until the worker fails the job a moment later.
local function record(queue_json, payload)
  local is_object
  if #payload > 1048576 then
    is_object = string.match(payload, '^%s*{') ~= nil and string.match(payload, '}%s*$') ~= nil
  else
    local ok, decoded = pcall(cjson.decode, payload)
    is_object = ok and type(decoded) == 'table' and string.match(payload, '^%s*{') ~= nil
  end
  local field = payload
  if not is_object then field = cjson.encode(payload) end
  return '{"queue":' .. queue_json .. ',"run_at":"' .. ARGV[8] .. '","payload":' .. field .. '}'
end

local out = {'jobs', ARGV[7]}
local parts = {ARGV[7], '\n'}
local first_json = nil
local function add(name, name_json, payload)
  if not first_json then first_json = record(name_json, payload) end
  out[#out + 1] = name
  out[#out + 1] = with_payloads and payload or ''
  parts[#parts + 1] = name .. '\n' .. #payload .. '\n'
  parts[#parts + 1] = payload
end

if landed_json then
  local name = cjson.decode(landed_json)
  for _, payload in ipairs(landed) do add(name, landed_json, payload) end
  redis.call('DEL', KEYS[11])
else
  local pause = redis.call('GET', KEYS[9])
  if pause and string.lower(string.match(pause, '^%s*(.-)%s*$')) == 'true' then
    return {'paused', lost}
  end
end

for i = 13, #KEYS do
  local need = reserve - (#out - 2) / 2
  if need <= 0 then break end
  local arg = first_queue_arg + (i - 13) * 2
  local name = ARGV[arg]
  local popped = redis.pcall('LPOP', KEYS[i], need)
  if type(popped) == 'table' and popped.err then
    if #out == 2 then return {'wrongtype', name} end
    popped = nil  -- skipped; reported by a later call that takes nothing before it
  end
  if popped then
    for _, payload in ipairs(popped) do add(name, ARGV[arg + 1], payload) end
  end
end
if #out == 2 then return {'empty', lost} end
redis.call('HSET', KEYS[2], id, table.concat(parts))
redis.call('SET', KEYS[1], first_json)
return out
