-- Removes every copy of one entry from one timestamp list, drops the timestamp from the
-- entry's index, and the timestamp itself once its list is empty.
-- KEYS[1] <ns>:delayed:<t>   KEYS[2] <ns>:timestamps:<entry>   KEYS[3] <ns>:delayed_queue_schedule
-- ARGV[1] t   ARGV[2] entry
local removed = redis.call('LREM', KEYS[1], 0, ARGV[2])
redis.call('SREM', KEYS[2], 'delayed:' .. ARGV[1])
if redis.call('LLEN', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
end
return removed
