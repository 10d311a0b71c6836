-- Takes one copy of an exact entry out of one timestamp list and, when given a queue,
-- pushes its payload there in the same step: the dashboard's "remove" and "enqueue now"
-- for a single delayed job, named by its content, never by a position.
-- KEYS[1] <ns>:delayed:<t>   KEYS[2] <ns>:timestamps:<entry>
-- KEYS[3] <ns>:delayed_queue_schedule   KEYS[4] <ns>:queues   KEYS[5] <ns>:queue:<q>
-- ARGV[1] t   ARGV[2] entry   ARGV[3] queue ('' to only remove)   ARGV[4] payload
-- Returns 1 when the entry was there, 0 (nothing changed) when it was not.
-- Needs LPOS (Redis 6.0.6 or later).
if redis.call('LREM', KEYS[1], 1, ARGV[2]) == 0 then return 0 end
-- Identical copies at one time share one index member: keep it while one is left.
if not redis.call('LPOS', KEYS[1], ARGV[2]) then
  redis.call('SREM', KEYS[2], 'delayed:' .. ARGV[1])
end
if ARGV[3] ~= '' then
  redis.call('SADD', KEYS[4], ARGV[3])
  redis.call('RPUSH', KEYS[5], ARGV[4])
end
if redis.call('LLEN', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
end
return 1
