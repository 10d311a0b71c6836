-- Requeues and removes a run of failures, for "retry all": the run starts at ARGV[2] and
-- must still hold exactly the entries the caller read, or nothing is done (FC-12). New
-- failures are appended at the tail (RPUSH), so they are never part of a run read
-- earlier from the head.
--
-- KEYS[1] failure list   KEYS[2] <ns>:queues   KEYS[3..] <ns>:queue:<q>, one per entry
-- requeued, in order
-- ARGV[1] placeholder (no entry equals it)   ARGV[2] index of the run's first entry
-- then per entry: expected entry, queue name ('' keeps the entry in place), payload
-- Returns how many entries were requeued, or -1 when the run changed.

local key, placeholder, first = KEYS[1], ARGV[1], tonumber(ARGV[2])
local n = (#ARGV - 2) / 3
local current = redis.call('LRANGE', key, first, first + n - 1)
if #current ~= n then
    return -1
end
for i = 1, n do
    if current[i] ~= ARGV[3 * i] then
        return -1
    end
end

local requeued = 0
for i = 1, n do
    local queue = ARGV[3 * i + 1]
    if queue ~= '' then
        requeued = requeued + 1
        redis.call('LSET', key, first + i - 1, placeholder)
        redis.call('SADD', KEYS[2], queue)
        redis.call('RPUSH', KEYS[2 + requeued], ARGV[3 * i + 2])
    end
end
if requeued > 0 then
    redis.call('LREM', key, requeued, placeholder)
end
return requeued
