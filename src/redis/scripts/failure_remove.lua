-- Removes failures by position, each only if it is still the entry the caller read
-- (FC-12). Resque removes by index with LSET + LREM of a placeholder; doing both here,
-- atomically, with a placeholder no entry can equal, removes exactly the entries named.
--
-- KEYS[1] failure list
-- ARGV[1] placeholder   then pairs: ARGV[2k] index, ARGV[2k+1] entry expected there
-- Returns how many entries were removed.

local key, placeholder = KEYS[1], ARGV[1]
local marked, lowest, highest = 0, nil, nil
for i = 2, #ARGV, 2 do
    local index = tonumber(ARGV[i])
    if redis.call('LINDEX', key, index) == ARGV[i + 1] then
        redis.call('LSET', key, index, placeholder)
        marked = marked + 1
        if lowest == nil or index < lowest then lowest = index end
        if highest == nil or index > highest then highest = index end
    end
end
if marked == 0 then
    return 0
end

-- LREM stops after `marked` matches: scan from the end nearer to the placeholders.
local count = marked
if highest + 1 > redis.call('LLEN', key) - lowest then
    count = -marked
end
return redis.call('LREM', key, count, placeholder)
