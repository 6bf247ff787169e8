-- overflow: ARGV[2] callId, [3] action ('relax-skills' | 'move'), [4] target queue (move),
-- [5] the rule's index in the entry queue's rules ('': not recorded).
-- A waiting call drops its extra skills, or moves to another queue; either way it keeps its
-- enqueue time, so it keeps its seniority. A call that is not waiting (ringing, answered,
-- gone) is left alone. An applied rule's index joins the call's cbRules in the same step: a
-- restarted instance reads cbRules, so a crash right after cannot leave the rule applied but
-- unrecorded, to be applied again. Returns { applied, queue, position }.
local call_id, action, target, rule = ARGV[2], ARGV[3], ARGV[4], ARGV[5] or ''
local ck = B .. 'c:' .. call_id
local v = redis.call('HMGET', ck, 'status', 'queue', 'extras', 'member', 'priority', 'enq', 'cbRules')
if v[1] ~= 'waiting' then
  return cjson.encode({ applied = false, queue = v[2] or '', position = -1 })
end
local queue, extras = v[2], v[3]
if action == 'move' then
  if redis.call('EXISTS', B .. 'q:' .. target) == 0 then
    return fail('UNKNOWN_QUEUE', 'no queue ' .. target)
  end
  queue = target
elseif action == 'relax-skills' then
  if extras == '' then return cjson.encode({ applied = false, queue = queue, position = redis.call('ZRANK', B .. 'wq:' .. queue, v[4]) + 1 }) end
  extras = ''
else
  return fail('INVALID_INPUT', 'unknown overflow action ' .. action)
end
remove_waiting(v[2], v[3], v[4])
local fields = { 'queue', queue, 'extras', extras }
local rules = v[7] or ''
if rule ~= '' and not string.find(',' .. rules .. ',', ',' .. rule .. ',', 1, true) then
  fields[5] = 'cbRules'
  fields[6] = rules == '' and rule or rules .. ',' .. rule
end
redis.call('HSET', ck, unpack(fields))
local position = add_waiting(call_id, queue, extras, tonumber(v[5]), tonumber(v[6]))
return cjson.encode({ applied = true, queue = queue, position = position })
