-- waiting: ARGV[2] queue. Returns flat callId, extras, priority, enq, owner per waiting call,
-- in service order.
local out = {}
for _, member in ipairs(redis.call('ZRANGE', B .. 'wq:' .. ARGV[2], 0, -1)) do
  local call_id = string.sub(member, 17)
  local v = redis.call('HMGET', B .. 'c:' .. call_id, 'extras', 'priority', 'enq', 'owner')
  out[#out + 1] = call_id
  out[#out + 1] = v[1] or ''
  out[#out + 1] = v[2] or '0'
  out[#out + 1] = v[3] or '0'
  out[#out + 1] = v[4] or ''
end
return out
