-- configure: ARGV[2] JSON { queues: [{ name, strategy, skills, ring, wrap, maxWait, aging }],
-- agents: [{ id, endpoint, sk, elig }] } (sk and elig computed by strategy.ts), ARGV[3] now.
-- Replaces the whole configuration; agents keep their state. Refused, with nothing changed,
-- when it would drop an agent that is ringing or on a call, or a queue that still has calls.
local cfg = cjson.decode(ARGV[2])
local now = tonumber(ARGV[3])
local new_queues, new_agents = {}, {}
for _, q in ipairs(cfg.queues) do new_queues[q.name] = q end
for _, a in ipairs(cfg.agents) do new_agents[a.id] = a end
local old_queues = redis.call('SMEMBERS', B .. 'queues')
local old_agents = {}
for _, id in ipairs(redis.call('SMEMBERS', B .. 'agents')) do old_agents[#old_agents + 1] = load_agent(id) end

local conflicts = {}
for _, a in ipairs(old_agents) do
  local busy = a.state == 'ringing' or a.state == 'on_call'
  if busy and not new_agents[a.id] then
    conflicts[#conflicts + 1] = 'agent ' .. a.id .. ' is ' .. a.state
  end
  if a.state == 'ringing' and not new_queues[a.queue] then
    conflicts[#conflicts + 1] = 'queue ' .. a.queue .. ' has a call ringing agent ' .. a.id
  end
end
for _, q in ipairs(old_queues) do
  if not new_queues[q] and redis.call('ZCARD', B .. 'wq:' .. q) > 0 then
    conflicts[#conflicts + 1] = 'queue ' .. q .. ' has waiting calls'
  end
end
if #conflicts > 0 then return fail('CONFIG_CONFLICT', table.concat(conflicts, '; ')) end

-- Take available agents out of the indexes under the old configuration, change it, put them
-- back under the new one.
for _, a in ipairs(old_agents) do
  if a.state == 'available' then deindex_agent(a) end
  if not new_agents[a.id] then
    redis.call('DEL', B .. 'a:' .. a.id)
    redis.call('HDEL', B .. 'cfg', a.id)
    redis.call('SREM', B .. 'agents', a.id)
  end
end
for _, q in ipairs(old_queues) do
  if not new_queues[q] then
    redis.call('DEL', B .. 'q:' .. q, B .. 'aq:' .. q, B .. 'qc:' .. q, B .. 'qh:' .. q)
    redis.call('SREM', B .. 'queues', q)
    redis.call('HDEL', B .. 'qconf', q)
  end
end

for _, q in ipairs(cfg.queues) do
  local qk = B .. 'q:' .. q.name
  local old_aging = tonumber(redis.call('HGET', qk, 'aging'))
  redis.call('HSET', qk, 'strategy', q.strategy, 'skills', q.skills, 'ring', q.ring, 'wrap', q.wrap,
    'maxWait', q.maxWait, 'aging', q.aging)
  redis.call('SADD', B .. 'queues', q.name)
  -- What claim reads for every queue it looks at, in one field so one HMGET serves them all.
  redis.call('HSET', B .. 'qconf', q.name, q.strategy .. ',' .. string.format('%.17g', q.aging) .. ',' .. q.ring .. ',' .. q.wrap)
  if old_aging ~= nil and old_aging ~= q.aging then
    -- Aging is part of the waiting score: re-score the calls waiting in this queue.
    local wq = B .. 'wq:' .. q.name
    for _, member in ipairs(redis.call('ZRANGE', wq, 0, -1)) do
      local v = redis.call('HMGET', B .. 'c:' .. string.sub(member, 17), 'extras', 'priority', 'enq')
      local score = waiting_score(q.aging, tonumber(v[2]), tonumber(v[3]))
      redis.call('ZADD', wq, score, member)
      redis.call('ZADD', B .. 'wc:' .. q.name .. '|' .. v[1], score, member)
    end
    for _, extras in ipairs(redis.call('ZRANGE', B .. 'qh:' .. q.name, 0, -1)) do refresh_class_head(q.name, extras) end
  end
  if redis.call('ZCARD', B .. 'wq:' .. q.name) > 0 then redis.call('SADD', B .. 'ready', q.name) end
end

-- Staff counts from scratch: eligibility may have changed with the queues or skills.
local staff = {}
local function add_staff(field)
  staff[field] = (staff[field] or 0) + 1
end
for _, q in ipairs(cfg.queues) do staff[q.name] = 0 end
staff['#in'] = 0
for _, c in ipairs(cfg.agents) do
  local ak = B .. 'a:' .. c.id
  if redis.call('EXISTS', ak) == 0 then
    redis.call('HSET', ak, 'state', 'logged_out', 'reason', '', 'lastEnd', 0, 'calls', 0, 'call', '',
      'queue', '', 'since', now)
    redis.call('SADD', B .. 'agents', c.id)
  end
  redis.call('HSET', ak, 'endpoint', c.endpoint, 'sk', c.sk, 'elig', c.elig)
  redis.call('HSET', B .. 'cfg', c.id, packed_config(c.endpoint, c.elig, c.sk))
  local a = load_agent(c.id)
  if a.state == 'available' then index_agent(a) end
  if a.state ~= 'logged_out' then add_staff('#in') end
  if STAFFING[a.state] then
    for q in string.gmatch(a.elig, ELIG) do add_staff(q) end
  end
end
local staff_args = { 'HSET', B .. 'staff' }
for field, n in pairs(staff) do
  staff_args[#staff_args + 1] = field
  staff_args[#staff_args + 1] = n
end
redis.call('DEL', B .. 'staff')
redis.call(unpack(staff_args))
-- Available agents were a set before av held them.
redis.call('DEL', B .. 'avail')
-- A store configured for the first time (or first since qh exists) gets it now rather than in
-- its first claim.
if not redis.call('HGET', B .. 'qconf', '#qh') then rebuild_class_heads() end
return cjson.encode({ queues = #cfg.queues, agents = #cfg.agents })
