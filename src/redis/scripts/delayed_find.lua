-- Finds the entry of one timestamp list whose SHA-1 is the given digest, reading the
-- list in slices inside Redis so that no other entry (however large) is sent back.
-- KEYS[1] <ns>:delayed:<t>   ARGV[1] 40 lower-case hex digits
-- Returns the entry, or nil.
local size = redis.call('LLEN', KEYS[1])
for start = 0, size - 1, 100 do
  for _, entry in ipairs(redis.call('LRANGE', KEYS[1], start, start + 99)) do
    if redis.sha1hex(entry) == ARGV[1] then return entry end
  end
end
return false
