-- wrapUpEnded: ARGV[2] agentId, [3] callId ('' for any), [4] now. wrap_up -> available, only
-- if the agent is still wrapping up that call: a stale timer never cuts a later wrap-up short.
local agent_id, call_id, now = ARGV[2], ARGV[3], tonumber(ARGV[4])
local a = load_agent(agent_id)
if not a then return fail('UNKNOWN_AGENT', 'no agent ' .. agent_id) end
if a.state ~= 'wrap_up' or (call_id ~= '' and a.call ~= call_id) then
  return cjson.encode({ changes = {} })
end
return cjson.encode({ changes = { set_state(a, 'available', '', '', '', now) } })
