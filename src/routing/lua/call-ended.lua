-- agentCallEnded: ARGV[2] agentId, [3] now, [4] callId ('' or absent for any). on_call ->
-- wrap_up for the queue's wrap-up time (straight to available when it is 0), counting the call
-- and its end time (end-talk.lua). With a callId, only that call ends: an instance that stalled
-- while another ended its call (its owner was judged gone, gone-talk-ended.lua) and then hears
-- the old leg end must not end the agent's next call.
local agent_id, now, call_id = ARGV[2], tonumber(ARGV[3]), ARGV[4] or ''
local a = load_agent(agent_id)
if not a then return fail('UNKNOWN_AGENT', 'no agent ' .. agent_id) end
if a.state ~= 'on_call' or (call_id ~= '' and a.call ~= call_id) then
  return fail('INVALID_TRANSITION', 'agent ' .. agent_id .. ' is ' .. a.state .. ', not on_call for ' .. (call_id ~= '' and call_id or 'a call'), { state = a.state })
end
local wrap, change = end_talk(a, now, redis.call('HGET', B .. 'a:' .. agent_id, 'own'))
return cjson.encode({ wrapUpSeconds = wrap, changes = { change } })
