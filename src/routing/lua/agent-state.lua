-- changeAgentState: ARGV[2] agentId, [3] action, [4] reason, [5] now.
--   login    logged_out -> available
--   logout   available | paused | wrap_up -> logged_out   (never while ringing or on_call)
--   pause    available | wrap_up | paused -> paused(reason) (paused -> paused changes the reason)
--   unpause  paused -> available
local agent_id, action, reason, now = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local a = load_agent(agent_id)
if not a then return fail('UNKNOWN_AGENT', 'no agent ' .. agent_id) end
local from = a.state
local to
if action == 'login' and from == 'logged_out' then
  to = 'available'
elseif action == 'logout' and (from == 'available' or from == 'paused' or from == 'wrap_up') then
  to = 'logged_out'
elseif action == 'pause' and (from == 'available' or from == 'wrap_up' or from == 'paused') then
  to = 'paused'
elseif action == 'unpause' and from == 'paused' then
  to = 'available'
end
if not to then
  return fail('INVALID_TRANSITION', 'cannot ' .. action .. ' agent ' .. agent_id .. ' while ' .. from, { state = from })
end
local kept = ''
if to == 'paused' then kept = reason end
local change = set_state(a, to, kept, '', '', now)
change.reason = reason
return cjson.encode(change)
