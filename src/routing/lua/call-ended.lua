-- agentCallEnded: ARGV[2] agentId, [3] now. on_call -> wrap_up for the queue's wrap-up time
-- (straight to available when it is 0), counting the call and its end time.
local agent_id, now = ARGV[2], tonumber(ARGV[3])
local a = load_agent(agent_id)
if not a then return fail('UNKNOWN_AGENT', 'no agent ' .. agent_id) end
if a.state ~= 'on_call' then
  return fail('INVALID_TRANSITION', 'agent ' .. agent_id .. ' is ' .. a.state .. ', not on_call', { state = a.state })
end
-- claim wrote the queue's wrap-up time on the agent; an offer made before it did has none.
local wrap = a.wrap or tonumber(redis.call('HGET', B .. 'q:' .. a.queue, 'wrap')) or 0
a.calls = a.calls + 1
a.lastEnd = now
local counted = { 'calls', a.calls, 'lastEnd', now }
local change
if wrap > 0 then
  change = set_state(a, 'wrap_up', '', a.call, a.queue, now, counted)
else
  change = set_state(a, 'available', '', '', '', now, counted)
end
return cjson.encode({ wrapUpSeconds = wrap, changes = { change } })
