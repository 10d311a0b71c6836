-- Renews KEYS[1] for ARGV[2] ms only if it still holds ARGV[1] (the leader's own lock).
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
