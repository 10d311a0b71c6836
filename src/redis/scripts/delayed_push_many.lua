-- Delays many jobs due at one time: the same three writes as delayed_push.lua (entries,
-- their timestamps indexes, the due time), for a batch in one step. The due time is added
-- last, so a scheduler that sees it also sees every entry.
-- KEYS[1] <ns>:delayed:<t>   KEYS[2] <ns>:delayed_queue_schedule
-- ARGV[1] t (epoch seconds)  ARGV[2] namespace prefix `<ns>:`   ARGV[3..] entries
-- The caller sends at most 1,000 entries per call (unpack is bounded by Lua's stack).
local member = 'delayed:' .. ARGV[1]
redis.call('RPUSH', KEYS[1], unpack(ARGV, 3))
for i = 3, #ARGV do
  redis.call('SADD', ARGV[2] .. 'timestamps:' .. ARGV[i], member)
end
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[1])
return #ARGV - 2
