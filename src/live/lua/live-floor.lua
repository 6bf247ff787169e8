-- live-floor: what the live view needs of routing's state (src/routing/lua/common.lua has the
-- key layout), counted inside Redis so neither every waiting call nor every agent crosses the
-- wire: per queue the waiting calls and the oldest enqueue time, and agents by state, overall
-- and per queue they are eligible for (their `elig` list, kept by routing's configure).
-- ARGV: [1] routing key base (<prefix>routing:), [2] queue names, comma-separated.
-- Returns JSON { agents = {state = n}, queues = {name = {waiting, oldest (epoch ms, 0: none), agents}} }.
local R = ARGV[1]
local queues = {}
for q in string.gmatch(ARGV[2], '[^,]+') do queues[q] = { waiting = 0, oldest = 0, agents = {} } end

local totals = {}
for _, id in ipairs(redis.call('SMEMBERS', R .. 'agents')) do
  local v = redis.call('HMGET', R .. 'a:' .. id, 'state', 'elig')
  local state = v[1] or 'logged_out'
  totals[state] = (totals[state] or 0) + 1
  for q in string.gmatch(v[2] or '', '([^,=]+)=') do
    local e = queues[q]
    if e then e.agents[state] = (e.agents[state] or 0) + 1 end
  end
end

-- A waiting member is the 16-digit enqueue time followed by the call id.
local function enq_of(member)
  return tonumber(string.sub(member, 1, 16))
end

-- The oldest enqueue time among a queue's waiting calls, without reading them all. With aging
-- the score is enq - priority * 60000 / aging <= enq, so a call older than the best found has a
-- score below the best: in score order, the scan stops at the first score above it. Without
-- aging the score is -priority and one priority's calls are in member (= enqueue) order, so the
-- oldest is the first call of one of the (at most 11) priorities present.
local function oldest(key, aging)
  local best = nil
  if aging > 0 then
    local i = 0
    while true do
      local chunk = redis.call('ZRANGE', key, i, i + 99, 'WITHSCORES')
      if #chunk == 0 then return best end
      for j = 1, #chunk, 2 do
        if best and tonumber(chunk[j + 1]) > best then return best end
        local enq = enq_of(chunk[j])
        if not best or enq < best then best = enq end
      end
      i = i + 100
    end
  end
  local head = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  while #head > 0 do
    local enq = enq_of(head[1])
    if not best or enq < best then best = enq end
    head = redis.call('ZRANGE', key, '(' .. head[2], '+inf', 'BYSCORE', 'LIMIT', 0, 1, 'WITHSCORES')
  end
  return best
end

for q, e in pairs(queues) do
  local key = R .. 'wq:' .. q
  e.waiting = redis.call('ZCARD', key)
  if e.waiting > 0 then
    e.oldest = oldest(key, tonumber(redis.call('HGET', R .. 'q:' .. q, 'aging')) or 0) or 0
  end
end
return cjson.encode({ agents = totals, queues = queues })
