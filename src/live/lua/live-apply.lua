-- live-apply: one call's contribution to the live figures replaces its previous one, atomically,
-- so today's counters are always the sum of every call's latest contribution (a repeated write
-- adds nothing; a call that moves to another queue moves its counts).
-- ARGV: [1] key base (<prefix>live:), [2] call id, [3] day YYYY-MM-DD, [4] phase ('' | ivr |
-- queued | talking), [5] counts JSON {"<queue>|<count>": n}, [6] the call's summary JSON (to
-- resume the call after a restart), [7] now (epoch ms), [8] call record TTL s, [9] day hash TTL s,
-- [10] epoch ms before which a phase entry is stale (a call lost without call.ended) and dropped.
local B = ARGV[1]
local call_id = ARGV[2]
local call_key = B .. 'call:' .. call_id
local old = redis.call('HMGET', call_key, 'day', 'phase', 'counts')
local old_day, old_phase = old[1], old[2] or ''
local old_counts = old[3] and cjson.decode(old[3]) or {}
local day, phase = ARGV[3], ARGV[4]
local counts = cjson.decode(ARGV[5])

local function bump(key, field, by)
  if by ~= 0 then redis.call('HINCRBY', key, field, by) end
end

-- A call's counts belong to the day it started; a record kept under another day leaves it whole.
if old_day and old_day ~= day then
  for f, v in pairs(old_counts) do bump(B .. 'day:' .. old_day, f, -v) end
  old_counts = {}
end
local day_key = B .. 'day:' .. day
for f, v in pairs(counts) do bump(day_key, f, v - (old_counts[f] or 0)) end
for f, v in pairs(old_counts) do
  if counts[f] == nil then bump(day_key, f, -v) end
end
redis.call('EXPIRE', day_key, ARGV[9])

if old_phase ~= '' and old_phase ~= phase then redis.call('ZREM', B .. 'phase:' .. old_phase, call_id) end
if phase ~= '' then
  local phase_key = B .. 'phase:' .. phase
  redis.call('ZADD', phase_key, ARGV[7], call_id)
  redis.call('ZREMRANGEBYSCORE', phase_key, '-inf', '(' .. ARGV[10])
end

redis.call('HSET', call_key, 'day', day, 'phase', phase, 'counts', ARGV[5], 'summary', ARGV[6])
redis.call('EXPIRE', call_key, ARGV[8])
redis.call('PUBLISH', B .. 'changed', call_id)
return 1
