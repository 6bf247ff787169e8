-- Used by call-ended.lua and gone-talk-ended.lua (in the library after common.lua).
-- The end of an agent's call: on_call -> wrap_up for the queue's wrap-up time (straight to
-- available when it is 0), counting the call and its end time. `holder`: the instance whose
-- talks set lists the agent (answered.lua), or false: the agent leaves it, with the fields that
-- said where its legs were. Returns the wrap-up seconds and the change.
local function end_talk(a, now, holder)
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
  if holder then
    redis.call('SREM', B .. 'talks:' .. holder, a.id)
    redis.call('HDEL', B .. 'a:' .. a.id, 'own', 'leg', 'cch')
  end
  return wrap, change
end
