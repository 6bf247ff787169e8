-- claim: ARGV[2] now (ms), ARGV[3] the most calls to offer (0: all that can be matched now),
-- ARGV[4] the claiming instance (optional; see the hand-over in the writes).
-- Returns flat: callId, agentId, queue, endpoint, owner, ringTimeoutSeconds, ... per pair.
--
-- Calls with identical requirements (same queue, same extra skills) form a class, kept in
-- service order in one sorted set: if a class's head finds no agent, none of its calls can,
-- and the whole class is dropped. A heap over the class heads gives, each round, the call
-- with the highest effective priority (then the earliest enqueue time, then the call id); it
-- gets the best agent by its queue's strategy (every matching agent in ring-all). Only queues
-- in `ready` (all their available agents) or with an agent in `fresh` (those agents) are
-- looked at. Matching only reads; the writes come after it, grouped by key (one
-- ZREM per index for all the agents or calls leaving it), so offsets into the sorted sets stay
-- valid while matching and a run that pairs many agents pays one call per key, not per pair.
now = tonumber(ARGV[2])
-- The time as given, for the writes (a number argument costs a '%.17g' conversion each).
local now_arg = ARGV[2]
local max_calls = tonumber(ARGV[3])
total_avail = redis.call('HLEN', B .. 'av')
if total_avail == 0 then
  -- Nothing can match; what ready and fresh point at is found again when agents come (fresh).
  redis.call('DEL', B .. 'ready', B .. 'fresh')
  return {}
end
local ready = redis.call('SMEMBERS', B .. 'ready')
local fresh = redis.call('SMEMBERS', B .. 'fresh')
if #ready == 0 and #fresh == 0 then return {} end

-- Agents that became available since the last run, by queue: for a queue not in `ready`, the
-- only candidates (the agents available before could serve none of its classes, or the last
-- run would have matched them). Many of them (a shift logging in) make every queue ready
-- instead: the availability indexes serve that better than reading each agent.
local fresh_by_queue, fresh_n = {}, 0
if #fresh > IDX_ON then
  ready = redis.call('SMEMBERS', B .. 'queues')
elseif #fresh > 0 then
  fresh_by_queue, fresh_n = few_candidates(read_available(fresh), nil)
end
local queues, in_ready = {}, {}
for i = 1, #ready do
  local q = ready[i]
  queues[i] = q
  in_ready[q] = true
end
for q in pairs(fresh_by_queue) do
  if not in_ready[q] then queues[#queues + 1] = q end
end

local classes = {}
local confs = redis.call('HMGET', B .. 'qconf', '#qh', '#idx', unpack(queues))
if not confs[1] then rebuild_class_heads() end
idx_state = confs[2] ~= false

-- Many agents available: the indexes (built now if they are not there); few: every agent read
-- at once (when a queue in `ready` needs them all), the indexes dropped if they are there.
local few
-- The most agents this run can offer: all available ones, or with few of them, those that are
-- a candidate somewhere (agents eligible for no queue looked at need not keep the run going).
local offerable = fresh_n
if total_avail > IDX_ON and not idx_state then
  build_indexes(read_all_available())
elseif total_avail <= IDX_OFF or not idx_state then
  if idx_state then drop_indexes() end
  few = {}
  if #ready > 0 then
    local n
    few, n = few_candidates(read_all_available(), in_ready)
    offerable = offerable + n
  end
end
if #ready > 0 and not few then offerable = total_avail end
local idx = idx_state

for qn = 1, #queues do
  local q = queues[qn]
  -- wrapUp is missing from entries written before it was added: call-ended then reads the queue.
  local strategy, aging, ring, wrap = string.match(confs[qn + 2] or '', '^([^,]+),([^,]+),([^,]+),?([^,]*)$')
  -- Fields set later are named (as nil) so the table is made with room for them: adding a key
  -- to a full table rehashes it, and table growth was a fifth of a single-decision claim.
  local qi = { name = q, wq = B .. 'wq:' .. q, strategy = strategy, aging = tonumber(aging), ring = ring, wrap = wrap, small = nil, cands = nil, cand_ids = nil }
  local heads = {}
  if strategy then
    if not in_ready[q] then
      qi.small = true
      qi.cands = fresh_by_queue[q]
    elseif few then
      qi.small = true
      qi.cands = few[q] or {}
    else
      -- Counted first: a reply's scores are each printed by Redis and parsed again here, which
      -- for a large queue's first SMALL agents cost more than the count.
      qi.small = redis.call('ZCARD', B .. 'aq:' .. q) <= SMALL
      if qi.small then
        local r = redis.call('ZRANGE', B .. 'aq:' .. q, 0, SMALL, 'WITHSCORES')
        qi.cands = {}
        for i = 1, #r, 2 do qi.cands[#qi.cands + 1] = { id = r[i], score = tonumber(r[i + 1]) } end
      end
    end
    if qi.small then
      qi.cand_ids = {}
      local cands = qi.cands
      for i = 1, #cands do qi.cand_ids[i] = cands[i].id end
    end
    if not qi.small then
      heads = class_heads(q)
    elseif #qi.cands > 0 then
      heads = servable_heads(q, qi.cands)
    end
  end
  -- No agent, or no waiting call: a new agent or call puts the queue back.
  if #heads == 0 then
    if in_ready[q] then redis.call('SREM', B .. 'ready', q) end
  else
    -- Only classes whose extra skills some candidate agent holds are worth a heap entry.
    local union
    local function available(s)
      if not qi.small then return skill_avail(s) > 0 end
      if not union then
        union = {}
        local cands = qi.cands
        for ci = 1, #cands do
          local cand = cands[ci]
          -- A class's extra skills are all in xs, so the candidates' xs skills are enough.
          local cxs = agent_xs(cand.id)
          for k = 1, #cxs do union[cxs[k]] = true end
        end
      end
      return union[s] ~= nil
    end
    for i = 1, #heads, 2 do
      local extras = heads[i]
      local possible, ex = true, nil
      if extras == '' then
        ex = {}
      elseif not string.find(extras, ',', 1, true) then
        possible = available(extras)
        ex = { extras }
      else
        ex = split(extras)
        for si = 1, #ex do
          local s = ex[si]
          if not available(s) then
            possible = false
            break
          end
        end
      end
      if possible then
        classes[#classes + 1] = {
          q = qi, extras = ex, extras_str = extras, key = B .. 'wc:' .. q .. '|' .. extras, pos = 0, hn = 2,
          eff = effective(qi, tonumber(heads[i + 1])),
          -- Set by load_head, next_agent and offer_head (named for room, as qi's above).
          loaded = nil, head = nil, score = nil, enq = nil, hbuf = nil, hi = nil, hend = nil,
          buf = nil, bi = nil, done = nil, off = nil, chunk = nil, offered = nil,
        }
      end
    end
  end
end

-- The class's calls from c.pos on are read ahead a few at a time (two at first, so that one
-- read also tells whether the class has calls left after its head).
local function load_head(c)
  local hb = c.hbuf
  if not hb or c.hi > #hb then
    if c.hend then
      c.head = nil
      return false
    end
    hb = redis.call('ZRANGE', c.key, c.pos, c.pos + c.hn - 1, 'WITHSCORES')
    if #hb < 2 * c.hn then c.hend = true end
    c.hn = math.min(c.hn * 4, 64)
    c.hbuf, c.hi = hb, 1
    if #hb == 0 then
      c.head = nil
      return false
    end
  end
  c.head, c.score = hb[c.hi], hb[c.hi + 1]
  c.hi = c.hi + 2
  c.enq = tonumber(string.sub(c.head, 1, 16))
  c.eff = effective(c.q, tonumber(c.score))
  c.loaded = true
  return true
end

-- Binary heap of classes, best head on top. A class enters with the score qh:<queue> gives
-- for its head and reads its head only when it reaches the top: a run that makes a few
-- decisions reads a few heads, not every class's. An entry not read yet goes before a read one
-- of equal priority, so ties are settled with both heads known.
local heap = {}
-- Ties of effective priority (within 1e-9) are settled here; the sift loops below compare
-- `eff` themselves and call this only on a tie (a Lua call per comparison was a third of a
-- claim's heap work, and sifting a fifth of a 50-agent claim's Lua).
local function tie_better(a, b)
  if not a.loaded then return b.loaded == true end
  if not b.loaded then return false end
  if a.enq ~= b.enq then return a.enq < b.enq end
  return id_less(a.head, b.head)
end
local n_heap = 0
local function push(c)
  n_heap = n_heap + 1
  local i, e = n_heap, c.eff
  while i > 1 do
    local p = (i - i % 2) / 2
    local hp = heap[p]
    local d = e - hp.eff
    if d < -1e-9 or (d <= 1e-9 and not tie_better(c, hp)) then break end
    heap[i] = hp
    i = p
  end
  heap[i] = c
end
local function pop()
  local top = heap[1]
  local last = heap[n_heap]
  heap[n_heap] = nil
  n_heap = n_heap - 1
  if n_heap > 0 then
    local i, e = 1, last.eff
    while true do
      local l = 2 * i
      if l > n_heap then break end
      local child = heap[l]
      if l < n_heap then
        local right = heap[l + 1]
        local dr = right.eff - child.eff
        if dr > 1e-9 or (dr >= -1e-9 and tie_better(right, child)) then
          l = l + 1
          child = right
        end
      end
      local d = child.eff - e
      if d < -1e-9 or (d <= 1e-9 and not tie_better(child, last)) then break end
      heap[i] = child
      i = l
    end
    heap[i] = last
  end
  return top
end

for i = 1, #classes do push(classes[i]) end

local offers = {}
local ntaken = 0
local limited = false
-- The popped class's call takes the best free agent (every one in ring-all); the class's next
-- call, if any, goes back in the heap.
local function offer_head(best)
  local agents = {}
  repeat
    local id = next_agent(best)
    if id then
      agents[#agents + 1] = id
      taken[id] = true
    end
  until not id or best.q.strategy ~= 'ring-all'
  if #agents == 0 then return end
  ntaken = ntaken + #agents
  offers[#offers + 1] = { c = best, member = best.head, agents = agents }
  best.head = nil
  best.pos = best.pos + 1
  best.offered = true
  if max_calls > 0 and #offers >= max_calls then
    limited = true
    return
  end
  if load_head(best) then push(best) end
end

while n_heap > 0 and ntaken < offerable and not limited do
  local best = pop()
  if best.loaded then
    offer_head(best)
  elseif not best.q.small or has_candidate(best) then
    -- Read the head of a class that reached the top; a small queue's class whose candidates
    -- were all taken this run is dropped unread.
    if load_head(best) then push(best) end
  end
end

-- Writes. Members and agents leaving each index are gathered (add_to) and removed with one
-- call per key; so are the offers handed over.
local function call_per_key(cmd, groups)
  for key, members in pairs(groups) do
    for i = 1, #members, 1000 do
      redis.call(cmd, key, unpack(members, i, math.min(i + 999, #members)))
    end
  end
end

-- When the run leaves few agents available, the indexes are dropped now (the next run would
-- drop them) rather than each offered agent taken out of them one by one.
local drop_after = idx and total_avail - ntaken <= IDX_OFF
if drop_after then idx = false end
local zrem, hdel, aq_out = {}, {}, {}
local xs = idx and xs_set()
local out = {}
-- Hand-over: an offer for a caller another instance owns is pushed on that owner's list
-- (`offers:<owner>`, as OfferRelay.take reads it) in this same step, so it reaches its owner
-- even if the claiming instance dies before it announces it. One RPUSH per owner; nothing
-- without ARGV[4] (and one comparison per call, no Redis call, for a call this instance owns).
local me, handed = ARGV[4], {}
for oi = 1, #offers do
  local o = offers[oi]
  local q = o.c.q
  local call_id = string.sub(o.member, 17)
  local ck = B .. 'c:' .. call_id
  add_to(zrem, q.wq, o.member)
  add_to(zrem, o.c.key, o.member)
  local agents = o.agents
  local ra = '0'
  if #agents > 1 then ra = '1' end
  redis.call('HSET', ck, 'status', 'offered', 'ringing', #agents == 1 and agents[1] or table.concat(agents, ','))
  local owner = redis.call('HGET', ck, 'owner')
  local hand_to = me and owner and owner ~= me and B .. 'offers:' .. owner
  for ai = 1, #agents do
    local id = agents[ai]
    -- Every offered agent came from the availability indexes, so it is available: it leaves
    -- them all (what deindex_agent does for one agent) and rings (what set_state writes).
    local a = info_of[id] or agent_info(id)
    hdel[#hdel + 1] = id
    if idx then
      local cfg, sk0 = a.cfg, a.sk0
      for i = sk0, #cfg, 2 do
        if xs[cfg[i]] then add_to(zrem, B .. 'as:' .. cfg[i], id) end
      end
      for i = 3, sk0 - 1, 3 do add_to(aq_out, cfg[i], id) end
    end
    redis.call('HSET', B .. 'a:' .. id, 'state', 'ringing', 'reason', '', 'call', call_id, 'queue', q.name, 'since', now_arg, 'ra', ra, 'wrap', q.wrap)
    local n = #out
    out[n + 1] = call_id
    out[n + 2] = id
    out[n + 3] = q.name
    out[n + 4] = a.endpoint
    out[n + 5] = owner
    out[n + 6] = q.ring
    if hand_to then
      add_to(handed, hand_to, cjson.encode({ callId = call_id, agentId = id, queue = q.name, endpoint = a.endpoint, owner = owner, ringTimeoutSeconds = tonumber(q.ring) }))
    end
  end
end
call_per_key('RPUSH', handed)
for qn, ids in pairs(aq_out) do zrem[B .. 'aq:' .. qn] = ids end
call_per_key('ZREM', zrem)
if drop_after then drop_indexes() end
for i = 1, #hdel, 1000 do redis.call('HDEL', B .. 'av', unpack(hdel, i, math.min(i + 999, #hdel))) end
-- Each class that gave calls gets its new head's score in qh:<queue>, known from the read-ahead
-- (a head read and not offered, or the next read one); a class whose read-ahead reached its end
-- and was all offered is empty and leaves qh.
local new_heads, emptied = {}, {}
for ci = 1, #classes do
  local c = classes[ci]
  if c.offered then
    local score
    if c.head ~= nil then
      score = c.score
    elseif c.hi <= #c.hbuf then
      score = c.hbuf[c.hi + 1]
    elseif not c.hend then
      score = redis.call('ZRANGE', c.key, 0, 0, 'WITHSCORES')[2]
    end
    local qk = c.q.name
    if score then
      local g = new_heads[qk] or { 'ZADD', B .. 'qh:' .. qk }
      g[#g + 1] = score
      g[#g + 1] = c.extras_str
      new_heads[qk] = g
    else
      add_to(emptied, qk, c.extras_str)
    end
  end
end
for _, args in pairs(new_heads) do redis.call(unpack(args)) end
for qk, list in pairs(emptied) do
  redis.call('ZREM', B .. 'qh:' .. qk, unpack(list))
end
-- Unless the limit stopped it, this run showed that no available agent can serve any waiting
-- call; from now on only a newly available agent (index_agent puts it in `fresh`) or a class of
-- calls that was empty (add_waiting puts its queue in `ready`) can make a match. A call joining
-- a class that has calls cannot: the agents available could not serve its class before.
if not limited then redis.call('DEL', B .. 'ready', B .. 'fresh') end
return out
