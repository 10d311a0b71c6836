-- Settle the job of a worker found dead and unregister it, exactly once: the caller
-- read the worker's state and decided; this script acts only if that state is still
-- what the caller saw (another pruner, or the worker itself, may have moved on).
--
-- KEYS[1] workers  KEYS[2] worker:<id>  KEYS[3] worker:<id>:started
-- KEYS[4] workers:heartbeat  KEYS[5] stat:processed:<id>  KEYS[6] stat:failed:<id>
-- KEYS[7] cpp:inflight  KEYS[8] failure list  KEYS[9] queue key to requeue into
-- KEYS[10] queues set
-- ARGV[1] worker id  ARGV[2] expected inflight entry ("" = none)
-- ARGV[3] expected worker record ("" = none)  ARGV[4] "requeue" | "fail" | "none"
-- ARGV[5] payload to requeue  ARGV[6] failure record  ARGV[7] queue name
-- Returns 1 if it acted, 0 if the state had changed.

local inflight = redis.call('HGET', KEYS[7], ARGV[1]) or ''
local record = redis.call('GET', KEYS[2]) or ''
if inflight ~= ARGV[2] or record ~= ARGV[3] then return 0 end

if ARGV[4] == 'requeue' then
  redis.call('LPUSH', KEYS[9], ARGV[5])
  redis.call('SADD', KEYS[10], ARGV[7])
elseif ARGV[4] == 'fail' then
  redis.call('RPUSH', KEYS[8], ARGV[6])
end

redis.call('SREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2], KEYS[3], KEYS[5], KEYS[6])
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('HDEL', KEYS[7], ARGV[1])
return 1
