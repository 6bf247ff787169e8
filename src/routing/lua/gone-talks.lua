-- goneTalks: ARGV[2] owner, [3] beats before this (ms) are gone. The agents on a call whose legs
-- `owner` held (answered.lua lists them in talks:<owner>), flat: agentId, callId, leg, caller
-- channel, ...; nothing while the owner is alive (or a restarted owner beats again: the calls
-- are its own again). Entries of agents no longer on such a call are dropped on the way.
local owner, gone_before = ARGV[2], tonumber(ARGV[3])
local last = redis.call('HGET', B .. 'instances', owner)
if not last or tonumber(last) >= gone_before then return {} end
local key, out = B .. 'talks:' .. owner, {}
for _, id in ipairs(redis.call('SMEMBERS', key)) do
  local v = redis.call('HMGET', B .. 'a:' .. id, 'state', 'own', 'call', 'leg', 'cch')
  if v[1] == 'on_call' and v[2] == owner then
    local n = #out
    out[n + 1] = id
    out[n + 2] = v[3] or ''
    out[n + 3] = v[4] or ''
    out[n + 4] = v[5] or ''
  else
    redis.call('SREM', key, id)
  end
end
return out
