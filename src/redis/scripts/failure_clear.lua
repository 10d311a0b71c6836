-- Empties a failure list and returns how many entries it held, atomically, so the count
-- is exact. UNLINK frees a long list in the background instead of blocking Redis (FC-13).
--
-- KEYS[1] failure list

local count = redis.call('LLEN', KEYS[1])
redis.call('UNLINK', KEYS[1])
return count
