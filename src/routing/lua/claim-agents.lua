-- Candidate agents for claim (prepended to claim.lua): which classes of calls a queue's
-- available agents could serve, and those agents in strategy order, read lazily. `taken`
-- holds the agents claim has already given a call in this run.

-- A queue with at most SMALL available agents has them all read at once, with their skills;
-- a larger one is read in score order, a chunk at a time.
local SMALL = 32
local taken = {}

-- Byte order, as Redis orders equal scores (Lua's < follows the server's locale).
local function id_less(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

local skills_of = {}
local function agent_skills(id)
  local t = skills_of[id]
  if not t then
    t = skill_map(redis.call('HGET', B .. 'a:' .. id, 'sk'))
    skills_of[id] = t
  end
  return t
end

-- The agent's skills that calls have asked for as extras, in byte order.
local xs_of = {}
local function agent_xs(id)
  local t = xs_of[id]
  if not t then
    t = {}
    local args = { 'SMISMEMBER', B .. 'xs' }
    for skill in pairs(agent_skills(id)) do args[#args + 1] = skill end
    if #args > 2 then
      local is = redis.call(unpack(args))
      for i = 3, #args do
        if is[i - 2] == 1 then t[#t + 1] = args[i] end
      end
    end
    table.sort(t, id_less)
    xs_of[id] = t
  end
  return t
end

-- The classes a small queue's agents could serve: every combination of the extra skills they
-- hold (calls store theirs sorted the same way), checked in one SMISMEMBER; nil when the
-- agents hold too many extra skills for that and all classes must be listed.
local function servable_classes(q, cands)
  local seen, list = {}, {}
  for _, cand in ipairs(cands) do
    for _, s in ipairs(agent_xs(cand.id)) do
      if not seen[s] then
        seen[s] = true
        list[#list + 1] = s
      end
    end
  end
  if #list > 4 then return nil end
  table.sort(list, id_less)
  local subsets = { 'SMISMEMBER', B .. 'qc:' .. q, '' }
  for mask = 1, 2 ^ #list - 1 do
    local parts = {}
    for i = 1, #list do
      if math.floor(mask / 2 ^ (i - 1)) % 2 == 1 then parts[#parts + 1] = list[i] end
    end
    subsets[#subsets + 1] = table.concat(parts, ',')
  end
  local is = redis.call(unpack(subsets))
  local out = {}
  for i = 3, #subsets do
    if is[i - 2] == 1 then out[#out + 1] = subsets[i] end
  end
  return out
end

local skill_count = {}
local function skill_avail(s)
  local n = skill_count[s]
  if n == nil then
    n = redis.call('ZCARD', B .. 'as:' .. s)
    skill_count[s] = n
  end
  return n
end

-- Candidates of a small queue for one class, best first. most-skilled adds the proficiency
-- on the call's extra skills to the queue-skill sum already in the score.
local function small_candidates(qi, ex)
  if #ex == 0 then return qi.cand_ids end
  local list = {}
  for _, c in ipairs(qi.cands) do
    local sks = agent_skills(c.id)
    local extra = 0
    for _, s in ipairs(ex) do
      local p = sks[s]
      if not p then
        extra = nil
        break
      end
      extra = extra + p
    end
    if extra then
      local score = c.score
      if qi.strategy == 'most-skilled' then score = score - extra * 1e13 end
      list[#list + 1] = { id = c.id, score = score }
    end
  end
  if qi.strategy == 'most-skilled' then
    table.sort(list, function(a, b)
      if a.score ~= b.score then return a.score < b.score end
      return id_less(a.id, b.id)
    end)
  end
  local ids = {}
  for i, c in ipairs(list) do ids[i] = c.id end
  return ids
end

local function has_extras(id, extras)
  local sks = agent_skills(id)
  for _, s in ipairs(extras) do
    if not sks[s] then return false end
  end
  return true
end

-- Next candidates of a large queue's class: one ZINTER with the skill indexes when an extra
-- skill is rare or every candidate must be seen (most-skilled, ring-all), otherwise the
-- queue's index in growing chunks, filtered by skills.
local function fetch(c)
  local q = c.q
  local aq = B .. 'aq:' .. q.name
  if #c.extras > 0 and c.off == nil then
    local inter = q.strategy == 'most-skilled' or q.strategy == 'ring-all'
    for _, s in ipairs(c.extras) do
      if skill_avail(s) <= 4 * SMALL then inter = true end
    end
    if inter then
      local args = { 'ZINTER', 1 + #c.extras, aq }
      for _, s in ipairs(c.extras) do args[#args + 1] = B .. 'as:' .. s end
      args[#args + 1] = 'WEIGHTS'
      args[#args + 1] = 1
      local w = 0
      if q.strategy == 'most-skilled' then w = -1e13 end
      for _ = 1, #c.extras do args[#args + 1] = w end
      c.buf = redis.call(unpack(args))
      c.bi = 1
      c.done = true
      return
    end
  end
  local off = c.off or 0
  local n = c.chunk or 8
  local r = redis.call('ZRANGE', aq, off, off + n - 1)
  c.off = off + #r
  c.chunk = math.min(n * 4, 512)
  if #r < n then c.done = true end
  if #c.extras > 0 then
    local kept = {}
    for _, id in ipairs(r) do
      if not taken[id] and has_extras(id, c.extras) then kept[#kept + 1] = id end
    end
    r = kept
  end
  c.buf = r
  c.bi = 1
end

local function next_agent(c)
  while true do
    if c.buf == nil or c.bi > #c.buf then
      if c.done then return nil end
      fetch(c)
    else
      local id = c.buf[c.bi]
      c.bi = c.bi + 1
      if not taken[id] then return id end
    end
  end
end
