-- Retries one failure in place, as Resque's Failure::Redis.requeue does, but only if the
-- entry at the index is still the one the caller read (FC-12: indexes shift when others
-- edit the list). The entry stays, rewritten with retried_at; a fresh payload is queued.
--
-- KEYS[1] failure list   KEYS[2] <ns>:queues   KEYS[3] <ns>:queue:<queue>
-- ARGV[1] index   ARGV[2] entry expected there   ARGV[3] the entry with retried_at
-- ARGV[4] queue name   ARGV[5] payload to queue
-- Returns 1 when done, 0 when the entry was not the expected one (nothing written).

if redis.call('LINDEX', KEYS[1], ARGV[1]) ~= ARGV[2] then
    return 0
end
redis.call('LSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('SADD', KEYS[2], ARGV[4])
redis.call('RPUSH', KEYS[3], ARGV[5])
return 1
