-- Requeues and removes failures by value, for "retry all". Each entry is removed by its
-- exact bytes (LREM 1 from the head, where the caller read it), so entries shifting
-- because others edit the list cannot make it act on the wrong one (FC-12); an entry
-- someone else removed meanwhile is skipped. Byte-identical entries are interchangeable.
--
-- KEYS[1] failure list   KEYS[2] <ns>:queues   KEYS[2 + i] <ns>:queue:<q> of entry i
-- ARGV per entry i: ARGV[3i-2] the entry, ARGV[3i-1] queue name, ARGV[3i] payload
-- Returns how many entries were requeued.

local requeued = 0
for i = 1, #ARGV / 3 do
    if redis.call('LREM', KEYS[1], 1, ARGV[3 * i - 2]) == 1 then
        redis.call('SADD', KEYS[2], ARGV[3 * i - 1])
        redis.call('RPUSH', KEYS[2 + i], ARGV[3 * i])
        requeued = requeued + 1
    end
end
return requeued
