-- position: ARGV[2] callId. Returns the 1-based place in its queue, or -1 when not waiting.
local v = redis.call('HMGET', B .. 'c:' .. ARGV[2], 'status', 'queue', 'member')
if v[1] ~= 'waiting' then return -1 end
return redis.call('ZRANK', B .. 'wq:' .. v[2], v[3]) + 1
