-- Enqueues one recurring run together with its run record, if the record still holds the
-- run the caller planned from (compare-and-set): a run is enqueued once however many
-- schedulers, old leaders included, try it. An empty payload records a skipped run.
-- KEYS[1] <ns>:cpp:schedule_runs   KEYS[2] <ns>:delayed:last_enqueued_at
-- KEYS[3] <ns>:queues              KEYS[4] <ns>:queue:<queue>
-- ARGV[1] name   ARGV[2] expected last run ('' for none)   ARGV[3] this run (epoch s)
-- ARGV[4] queue  ARGV[5] payload ('' to record only)       ARGV[6] enqueue time text
if (redis.call('HGET', KEYS[1], ARGV[1]) or '') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if ARGV[5] ~= '' then
  redis.call('SADD', KEYS[3], ARGV[4])
  redis.call('RPUSH', KEYS[4], ARGV[5])
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[6])
end
return 1
