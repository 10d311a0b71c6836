-- Delays one job: the entry, its timestamps index and the due time in one step, so a
-- crash can never leave an entry the scheduler will not find (resque-scheduler sends
-- the same three commands separately).
-- KEYS[1] <ns>:delayed:<t>   KEYS[2] <ns>:timestamps:<entry>   KEYS[3] <ns>:delayed_queue_schedule
-- ARGV[1] entry              ARGV[2] t (epoch seconds)
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], 'delayed:' .. ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[2])
return 1
