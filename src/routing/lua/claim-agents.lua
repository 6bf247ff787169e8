-- Candidate agents for claim (in the library after common.lua; claim.lua is claim's body):
-- which classes of calls a queue's available agents could serve, and those agents in strategy
-- order, read lazily. `taken` holds the agents claim has already given a call in this run.
-- taken, now, total_avail, info_of, xs_cache and skill_count belong to one call: begin()
-- (lua-scripts.ts) sets them afresh as every call starts.
--
-- A redis.call costs as much as dozens of Lua table operations (about 1 µs against 0.03 µs on
-- the 2-core CI machine, more with cold caches), so this is shaped to make fewer of them: an
-- agent's fields are read once per run (agent_info), the extra-skill set once per run (xs_set),
-- and with fewer agents available than queues to look at, the queue candidates are computed
-- from those agents' own eligibility instead of read from every queue's index.
-- Loops over arrays are numeric: a generic for calls its iterator (ipairs) from the VM through
-- luaD_call on every step, ~400 instructions, a tenth of a bulk claim.

-- A queue with at most SMALL available agents has them all read at once, with their skills;
-- a larger one is read in score order, a chunk at a time.
local SMALL = 32
-- The aq/as indexes are built when a claim finds more than IDX_ON agents available and dropped
-- when it finds IDX_OFF or fewer (apart, so a floor hovering at one count does not rebuild them
-- on every claim). Without them, claim reads every available agent from av in one HGETALL and
-- each queue's candidates come from their eligibility lists (scored with the same agent_score
-- as the index): what a busy floor, with a few agents free at a time, does on every decision.
local IDX_ON = 64
local IDX_OFF = 32
local taken = {}
-- Set first thing by claim.lua: the time of the run and the available agents in all.
local now = 0
local total_avail = 0

-- Appends `member` to the list under `key` in `groups` (a table of lists, created as needed):
-- how claim gathers what goes to one key, so it can write it with one call.
local function add_to(groups, key, member)
  local g = groups[key]
  if not g then
    g = {}
    groups[key] = g
  end
  g[#g + 1] = member
end

-- Byte order, as Redis orders equal scores. Lua's < on strings follows the server's collation
-- locale (Redis calls setlocale(LC_COLLATE, "")). Under C, POSIX or C.UTF-8 that is byte order,
-- and < is used as it is: comparing byte by byte with string.byte made tie-breaks (agents
-- released at the same millisecond, all of a bulk login) a fifth of a claim's instructions.
-- Under a linguistic locale (lowercase before uppercase, punctuation ignored, which the probes
-- below catch) the bytes are compared one by one.
local function bytes_less(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
local native_order = 'B' < 'a' and 'Z' < '_' and 'a-c' < 'ab' and 'a' < 'a-' and '0' < 'A'
local id_less = bytes_less
if native_order then id_less = function(a, b) return a < b end end
-- Sorts strings in byte order (no comparator function to call from C when < is byte order).
local function sort_ids(list)
  if native_order then table.sort(list) else table.sort(list, bytes_less) end
end

local function by_score(a, b)
  if a.score ~= b.score then return a.score < b.score end
  return id_less(a.id, b.id)
end

-- What claim needs of an agent, read once: skills (parsed on first use), eligibility, endpoint
-- and the two strategy inputs.
local info_of = {}
local function agent_info(id)
  local t = info_of[id]
  if not t then
    t = parse_avail(id, redis.call('HGET', B .. 'av', id) or '', redis.call('HGET', B .. 'cfg', id))
    info_of[id] = t
  end
  return t
end

local function agent_skills(id)
  local t = agent_info(id)
  local sks = t.skills
  if not sks then
    sks = {}
    local cfg = t.cfg
    for i = t.sk0, #cfg, 2 do sks[cfg[i]] = cfg[i + 1] end
    t.skills = sks
  end
  return sks
end

-- Skills that calls have asked for as extras (the set `xs`), read once.
local xs_cache
local function xs_set()
  if not xs_cache then
    xs_cache = {}
    for _, s in ipairs(redis.call('SMEMBERS', B .. 'xs')) do xs_cache[s] = true end
  end
  return xs_cache
end

-- The agent's skills that calls have asked for as extras, in byte order.
local function agent_xs(id)
  local t = agent_info(id)
  if not t.xs then
    local xs, list = xs_set(), {}
    for skill in pairs(agent_skills(id)) do
      if xs[skill] then list[#list + 1] = skill end
    end
    sort_ids(list)
    t.xs = list
  end
  return t.xs
end

-- The class heads a small queue's agents could serve, as class_heads gives them (flat extras,
-- score): only the combinations of the extra skills its candidates hold (calls store theirs
-- sorted the same way), looked up in one ZMSCORE, so a claim with one agent free reads two
-- scores per queue rather than every class; all classes when the candidates hold more than
-- four such skills.
local function servable_heads(q, cands)
  local seen, list = {}, {}
  for ci = 1, #cands do
    local cand = cands[ci]
    local cxs = agent_xs(cand.id)
    for si = 1, #cxs do
      local s = cxs[si]
      if not seen[s] then
        seen[s] = true
        list[#list + 1] = s
      end
    end
  end
  if #list > 4 then return class_heads(q) end
  sort_ids(list)
  -- Every combination of the skills, each in the list's (byte) order: the combinations so far,
  -- then each of them with the next skill added.
  local combos = { '' }
  for li = 1, #list do
    local skill = list[li]
    for i = 1, #combos do
      local c = combos[i]
      if c == '' then combos[#combos + 1] = skill else combos[#combos + 1] = c .. ',' .. skill end
    end
  end
  local subsets = { 'ZMSCORE', B .. 'qh:' .. q }
  for i = 1, #combos do subsets[i + 2] = combos[i] end
  local scores = redis.call(unpack(subsets))
  local out = {}
  for i = 3, #subsets do
    local score = scores[i - 2]
    if score then
      out[#out + 1] = subsets[i]
      out[#out + 1] = score
    end
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

-- The configuration (cfg) of the agents `ids`, in as few calls as the stack allows.
local function configs_of(ids)
  local out = {}
  for i = 1, #ids, 1000 do
    local part = redis.call('HMGET', B .. 'cfg', unpack(ids, i, math.min(i + 999, #ids)))
    for j = 1, #part do out[i + j - 1] = part[j] end
  end
  return out
end

-- Every available agent, read into info_of (two calls).
local function read_all_available()
  local all, ids, vals = redis.call('HGETALL', B .. 'av'), {}, {}
  for i = 1, #all, 2 do
    ids[#ids + 1] = all[i]
    vals[#vals + 1] = all[i + 1]
  end
  local cfgs = configs_of(ids)
  for i = 1, #ids do
    local id = ids[i]
    if not info_of[id] then info_of[id] = parse_avail(id, vals[i], cfgs[i]) end
  end
  return ids
end

-- Those of the agents `ids` that are available, read into info_of (two calls).
local function read_available(ids)
  local vals, out = redis.call('HMGET', B .. 'av', unpack(ids)), {}
  local cfgs = configs_of(ids)
  for i = 1, #ids do
    local id = ids[i]
    if vals[i] then
      if not info_of[id] then info_of[id] = parse_avail(id, vals[i], cfgs[i]) end
      out[#out + 1] = id
    end
  end
  return out
end

-- The aq/as indexes dropped (left empty by the last claim, or stale from before av existed).
local function drop_indexes()
  local keys = { 'DEL', B .. 'avail' }
  for _, q in ipairs(redis.call('SMEMBERS', B .. 'queues')) do keys[#keys + 1] = B .. 'aq:' .. q end
  for s in pairs(xs_set()) do keys[#keys + 1] = B .. 'as:' .. s end
  redis.call(unpack(keys))
  redis.call('HDEL', B .. 'qconf', '#idx')
  idx_state = false
end

-- A member no agent id can be (bytes that are not UTF-8, longer than zset-max-listpack-value):
-- a sorted set that a ZADD creates with it is a skiplist from the start. Redis creates a new
-- sorted set as a listpack, where every insert scans the members before it: the first 128 of
-- each index cost ~16k instructions apiece before the set turned into a skiplist (~2.4k), a
-- sixth of a bulk claim.
-- Made when first needed: the library's top level, run at FUNCTION LOAD, has no `string`.
local SKIPLIST

-- The aq/as indexes built from the available agents `ids` (in info_of), one ZADD per key.
local function build_indexes(ids)
  drop_indexes()
  local xs, groups, prof_text = xs_set(), {}, {}
  local function add(key, score, id)
    add_to(groups, key, score)
    add_to(groups, key, id)
  end
  for k = 1, #ids do
    local id = ids[k]
    local a = agent_info(id)
    local cfg, sk0 = a.cfg, a.sk0
    for i = 3, sk0 - 1, 3 do
      local code = cfg[i + 1]
      local score
      if code == 'i' then score = a.last_text else score = num_text(agent_score(code, a.lastEnd, a.calls, cfg[i + 2])) end
      add(B .. 'aq:' .. cfg[i], score, id)
    end
    for i = sk0, #cfg, 2 do
      local skill = cfg[i]
      if xs[skill] then
        -- Proficiencies are 1..5: their text made once, not printed by redis.call each time.
        local p = cfg[i + 1]
        local pt = prof_text[p]
        if not pt then
          pt = num_text(p)
          prof_text[p] = pt
        end
        add(B .. 'as:' .. skill, pt, id)
      end
    end
  end
  for key, g in pairs(groups) do
    -- More than 64 members: skiplist from the start (also what ZINTER looks members up in fastest).
    local big = #g > 128
    if big then
      SKIPLIST = SKIPLIST or string.rep('\255', 128)
      redis.call('ZADD', key, 0, SKIPLIST)
    end
    for i = 1, #g, 2000 do redis.call('ZADD', key, unpack(g, i, math.min(i + 1999, #g))) end
    if big then redis.call('ZREM', key, SKIPLIST) end
  end
  redis.call('HSET', B .. 'qconf', '#idx', 1)
  idx_state = true
end

-- Without the indexes: queue -> candidates { id, score } in index order, for the
-- queues in `wanted` (all when nil), from the agents' av and cfg entries (scored as index_agent scores),
-- and how many agents are a candidate of some queue: no run can offer more.
local function few_candidates(ids, wanted)
  local by_queue, n = {}, 0
  for k = 1, #ids do
    local id = ids[k]
    local a = agent_info(id)
    local counted = false
    local cfg = a.cfg
    for i = 3, a.sk0 - 1, 3 do
      local q = cfg[i]
      if not wanted or wanted[q] then
        if not counted then
          counted = true
          n = n + 1
        end
        add_to(by_queue, q, { id = id, score = agent_score(cfg[i + 1], a.lastEnd, a.calls, cfg[i + 2]) })
      end
    end
  end
  for _, list in pairs(by_queue) do
    if #list > 1 then table.sort(list, by_score) end
  end
  return by_queue, n
end

-- Candidates of a small queue for one class, best first. most-skilled adds the proficiency
-- on the call's extra skills to the queue-skill sum already in the score.
local function small_candidates(qi, ex)
  if #ex == 0 then return qi.cand_ids end
  local list = {}
  local cands = qi.cands
  for ci = 1, #cands do
    local c = cands[ci]
    local sks = agent_skills(c.id)
    local extra = 0
    for si = 1, #ex do
      local s = ex[si]
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
  if qi.strategy == 'most-skilled' then table.sort(list, by_score) end
  local ids = {}
  for i = 1, #list do ids[i] = list[i].id end
  return ids
end

local function has_extras(id, extras)
  local sks = agent_skills(id)
  for si = 1, #extras do
    local s = extras[si]
    if not sks[s] then return false end
  end
  return true
end

-- Next candidates of a large queue's class: one ZINTER with the skill indexes when an extra
-- skill is held by at most a quarter of the available agents (Redis intersects in C far
-- faster than Lua filters a scan) or every candidate must be seen (most-skilled, ring-all),
-- otherwise the queue's index in growing chunks, filtered by skills.
local function fetch(c)
  local q = c.q
  local aq = B .. 'aq:' .. q.name
  if #c.extras > 0 and c.off == nil then
    local inter = q.strategy == 'most-skilled' or q.strategy == 'ring-all'
    local extras = c.extras
    for si = 1, #extras do
      local s = extras[si]
      local n = skill_avail(s)
      if n <= 4 * SMALL or 4 * n <= total_avail then inter = true end
    end
    if inter then
      local args = { 'ZINTER', 1 + #c.extras, aq }
      for k = 1, #c.extras do args[#args + 1] = B .. 'as:' .. c.extras[k] end
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
    for ri = 1, #r do
      local id = r[ri]
      if not taken[id] and has_extras(id, c.extras) then kept[#kept + 1] = id end
    end
    r = kept
  end
  c.buf = r
  c.bi = 1
end

-- A class's effective priority from its head's waiting score (higher is served first).
local function effective(q, score)
  if q.aging > 0 then return q.aging * (now - score) / 60000 end
  return -score
end

-- A small queue's class gets its candidate list when first needed.
local function small_buffer(c)
  if c.buf == nil and c.q.small then
    c.buf = small_candidates(c.q, c.extras)
    c.bi = 1
    c.done = true
  end
end

-- Whether a small queue's class has a candidate not yet taken (skips the taken ones for good).
local function has_candidate(c)
  small_buffer(c)
  while c.bi <= #c.buf do
    if not taken[c.buf[c.bi]] then return true end
    c.bi = c.bi + 1
  end
  return false
end

local function next_agent(c)
  small_buffer(c)
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
