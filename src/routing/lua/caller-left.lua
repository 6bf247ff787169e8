-- callerLeft: ARGV[2] callId, [3] now. Removes the call wherever it is; agents ringing for it
-- go back to available and are returned so their legs can be cancelled at once, with the
-- caller's channel as enqueued ('' for none).
local call_id, now = ARGV[2], tonumber(ARGV[3])
local ck = B .. 'c:' .. call_id
local v = redis.call('HMGET', ck, 'status', 'queue', 'extras', 'member', 'ringing', 'ch')
local changes, released = {}, {}
if not v[1] then
  return cjson.encode({ was = 'gone', changes = changes, ringingAgents = released, channel = '' })
end
if v[1] == 'waiting' then
  remove_waiting(v[2], v[3], v[4])
else
  release_ringing(call_id, v[5], '', now, changes, released)
end
redis.call('DEL', ck)
return cjson.encode({ was = v[1], changes = changes, ringingAgents = released, channel = v[6] or '' })
