-- goneTalkEnded: ARGV[2] owner, [3] beats before this (ms) are gone, [4] agentId, [5] callId,
-- [6] now. The agent of a call whose legs a gone owner held has hung up (the caller of the
-- sweep saw its leg gone): on_call -> wrap_up (or available) as after any call, reason
-- instance_lost, in one step with the checks that the owner is still silent (a restarted owner
-- ends its own calls) and that the agent is still on that call of that owner (two sweeping
-- instances end it once). Returns the change and the caller's channel, or no change.
local owner, gone_before, agent_id, call_id, now = ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], tonumber(ARGV[6])
local none = cjson.encode({ wrapUpSeconds = 0, changes = {}, channel = '' })
local last = redis.call('HGET', B .. 'instances', owner)
if not last or tonumber(last) >= gone_before then return none end
local a = load_agent(agent_id)
if not a or a.state ~= 'on_call' or a.call ~= call_id then return none end
local held = redis.call('HMGET', B .. 'a:' .. agent_id, 'own', 'cch')
if held[1] ~= owner then return none end
local wrap, change = end_talk(a, now, owner)
change.reason = 'instance_lost'
return cjson.encode({ wrapUpSeconds = wrap, changes = { change }, channel = held[2] or '' })
