-- ringNoAnswer: ARGV[2] callId, [3] agentId, [4] now. The agent is paused with reason `rona`;
-- when no other agent still rings for it, the call goes back to its original place. A late
-- timer (the agent answered, or the caller left) changes nothing.
local call_id, agent_id, now = ARGV[2], ARGV[3], tonumber(ARGV[4])
local a = load_agent(agent_id)
if not a then return fail('UNKNOWN_AGENT', 'no agent ' .. agent_id) end
if a.state ~= 'ringing' or a.call ~= call_id then
  return cjson.encode({ changes = {}, requeued = false, position = -1 })
end
local changes = { set_state(a, 'paused', 'rona', '', '', now) }
local ck = B .. 'c:' .. call_id
local v = redis.call('HMGET', ck, 'status', 'ringing', 'queue', 'extras', 'priority', 'enq')
if v[1] ~= 'offered' then
  return cjson.encode({ changes = changes, requeued = false, position = -1 })
end
local still = {}
for _, id in ipairs(split(v[2])) do
  if id ~= agent_id then
    local o = load_agent(id)
    if o and o.state == 'ringing' and o.call == call_id then still[#still + 1] = id end
  end
end
if #still > 0 then
  redis.call('HSET', ck, 'ringing', table.concat(still, ','))
  return cjson.encode({ changes = changes, requeued = false, position = -1 })
end
local position = add_waiting(call_id, v[3], v[4], tonumber(v[5]), tonumber(v[6]))
return cjson.encode({ changes = changes, requeued = true, position = position })
