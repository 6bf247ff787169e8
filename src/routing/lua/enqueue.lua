-- enqueue: ARGV[2] callId, [3] queue, [4] extras (sorted, comma-separated), [5] priority,
-- [6] enqueuedAt (ms), [7] owner, [8] the caller's channel ('' for none). Returns { position }.
local call_id, queue, extras = ARGV[2], ARGV[3], ARGV[4]
local priority, enq, owner, channel = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7], ARGV[8] or ''
-- Every configured queue has `aging`, so reading it also tells whether the queue exists.
local aging = redis.call('HGET', B .. 'q:' .. queue, 'aging')
if not aging then
  return fail('UNKNOWN_QUEUE', 'no queue ' .. queue)
end
local ck = B .. 'c:' .. call_id
if redis.call('EXISTS', ck) == 1 then
  return fail('CALL_EXISTS', 'call ' .. call_id .. ' is already in routing')
end
-- A skill asked for as an extra for the first time gets its index of available agents (while
-- the indexes are kept).
for _, s in ipairs(split(extras)) do
  if redis.call('SADD', B .. 'xs', s) == 1 and indexed() then
    -- Every available agent read once per call (claim-agents.lua), whatever the skills.
    local ids = read_all_available()
    for i = 1, #ids do
      local p = agent_skills(ids[i])[s]
      if p then redis.call('ZADD', B .. 'as:' .. s, p, ids[i]) end
    end
  end
end
local fields = { 'queue', queue, 'extras', extras, 'priority', priority, 'enq', enq, 'owner', owner }
if channel ~= '' then
  fields[#fields + 1] = 'ch'
  fields[#fields + 1] = channel
end
return cjson.encode({ position = add_waiting(call_id, queue, extras, priority, enq, tonumber(aging), fields) })
