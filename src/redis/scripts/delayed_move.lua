-- Moves the first entries of one due timestamp list to their queues, but only if the list
-- still starts with exactly the entries the caller read: a compare-and-pop, so two
-- schedulers racing over one timestamp never move an entry twice. The caller turned each
-- entry into its queue and `{"class","args"}` payload (Ruby's exact encoding needs C++).
-- KEYS[1] <ns>:delayed:<t>   KEYS[2] <ns>:delayed_queue_schedule   KEYS[3] <ns>:queues
-- KEYS[4] <ns>:cpp:delayed_invalid (entries without a usable queue go there, not lost)
-- ARGV[1] t   ARGV[2] namespace prefix `<ns>:`   then per entry: entry, queue, payload
-- Returns the number moved, or -1 when the list changed (the caller reads again).
local count = (#ARGV - 2) / 3
for i = 1, count do
  if redis.call('LINDEX', KEYS[1], i - 1) ~= ARGV[3 * i] then return -1 end
end
if count > 0 then redis.call('LTRIM', KEYS[1], count, -1) end
local member = 'delayed:' .. ARGV[1]
for i = 1, count do
  local entry, queue, payload = ARGV[3 * i], ARGV[3 * i + 1], ARGV[3 * i + 2]
  redis.call('SREM', ARGV[2] .. 'timestamps:' .. entry, member)
  if queue == '' then
    redis.call('RPUSH', KEYS[4], entry)
  else
    redis.call('SADD', KEYS[3], queue)
    redis.call('RPUSH', ARGV[2] .. 'queue:' .. queue, payload)
  end
end
if redis.call('LLEN', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return count
