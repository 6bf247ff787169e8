-- answered: ARGV[2] callId, [3] agentId, [4] now, and optionally [5] the instance that holds the
-- legs, [6] the agent's leg, [7] the caller's channel ('' for a callback). The agent that
-- answered goes on_call; in ring-all the others still ringing for the call go back to available.
-- The call leaves routing.
-- An agent ringing for a call means the call is offered (claim makes both true at once; whatever
-- ends the offer moves the agent on), so the call is read only for a ring-all offer's agents.
-- With a holder, the agent is listed in its talks set and its hash says where the legs are
-- (own, leg, cch): if that instance dies mid-call, the others end the talk once the agent's leg
-- is gone (gone-talks.lua, gone-talk-ended.lua). Without one (benches), nobody would.
local call_id, agent_id, now, holder = ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local a = load_agent(agent_id)
if not a then return fail('UNKNOWN_AGENT', 'no agent ' .. agent_id) end
if a.state ~= 'ringing' or a.call ~= call_id then
  return fail('OFFER_GONE', 'agent ' .. agent_id .. ' is not ringing for call ' .. call_id, { state = a.state })
end
local ck = B .. 'c:' .. call_id
local changes, released = {}, {}
local held
if holder and holder ~= '' then
  held = { 'own', holder, 'leg', ARGV[6] or '', 'cch', ARGV[7] or '' }
  redis.call('SADD', B .. 'talks:' .. holder, agent_id)
end
changes[1] = set_state(a, 'on_call', '', call_id, a.queue, now, held)
if a.ring_all then release_ringing(call_id, redis.call('HGET', ck, 'ringing'), agent_id, now, changes, released) end
redis.call('DEL', ck)
return cjson.encode({ changes = changes, released = released })
