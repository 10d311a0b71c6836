-- Moves the first entries of one due timestamp list to their queues, but only if the list
-- still starts with exactly the entries the caller read: a compare-and-pop, so two
-- schedulers racing over one timestamp never move an entry twice. The caller turned each
-- entry into its queue and `{"class","args"}` payload (Ruby's exact encoding needs C++).
-- KEYS[1] <ns>:delayed:<t>   KEYS[2] <ns>:delayed_queue_schedule   KEYS[3] <ns>:queues
-- KEYS[4] <ns>:cpp:delayed_invalid (entries without a usable queue go there, not lost)
-- ARGV[1] t   ARGV[2] namespace prefix `<ns>:`   then per entry: entry, queue, payload
-- An empty queue sets the entry aside as invalid; an empty payload (with a queue) drops
-- it: a before_enqueue hook vetoed it, as a vetoed Resque.enqueue writes nothing.
-- Returns the entries left at t afterwards (0: t is gone), or -1 when the list changed
-- (the caller reads again).
local count = (#ARGV - 2) / 3
if count > 0 then
  local head = redis.call('LRANGE', KEYS[1], 0, count - 1)
  if #head ~= count then return -1 end
  for i = 1, count do
    if head[i] ~= ARGV[3 * i] then return -1 end
  end
  redis.call('LTRIM', KEYS[1], count, -1)
end

-- Consecutive payloads bound for one queue go out in one RPUSH (in chunks, since unpack
-- is bounded by Lua's stack), and each queue is registered once per call.
local member = 'delayed:' .. ARGV[1]
local registered = {}
local run_queue, run = nil, {}
local function flush()
  if run_queue == nil then return end
  local key = ARGV[2] .. 'queue:' .. run_queue
  for first = 1, #run, 1000 do
    redis.call('RPUSH', key, unpack(run, first, math.min(first + 999, #run)))
  end
  run_queue, run = nil, {}
end
for i = 1, count do
  local entry, queue, payload = ARGV[3 * i], ARGV[3 * i + 1], ARGV[3 * i + 2]
  redis.call('SREM', ARGV[2] .. 'timestamps:' .. entry, member)
  if queue == '' then
    flush()
    redis.call('RPUSH', KEYS[4], entry)
  elseif payload ~= '' then
    if queue ~= run_queue then
      flush()
      run_queue = queue
    end
    if not registered[queue] then
      redis.call('SADD', KEYS[3], queue)
      registered[queue] = true
    end
    run[#run + 1] = payload
  end
end
flush()

local left = redis.call('LLEN', KEYS[1])
if left == 0 then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return left
