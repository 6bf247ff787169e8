-- Shared by every routing function: the top of the Redis Functions library (lua-scripts.ts),
-- run once when it is loaded. B is the key base, `${prefix}routing:`, ARGV[1] of every call
-- (set by begin() as each call starts). Keys under it:
--   q:<queue>          hash  strategy, skills, ring, wrap, maxWait, aging
--   qconf              hash  queue -> 'strategy,aging,ringTimeout,wrapUp', what claim reads; '#qh' = 1
--                            once qh is built
--   queues / agents    set   configured queue names / agent ids
--   a:<agent>          hash  endpoint, sk, elig, state, reason, lastEnd, calls, call, queue, since;
--                            while ringing also ra (1: a ring-all offer) and wrap (the queue's
--                            wrap-up seconds, so call-ended need not read the queue); while
--                            on a call answered through an instance also own (that instance),
--                            leg (the agent's leg) and cch (the caller's channel, '' for a
--                            callback), see answered.lua
--   talks:<instance>   set   agents on a call whose legs the instance holds (answered.lua;
--                            end-talk.lua removes them), so a gone instance's are found
--   c:<call>           hash  queue, extras, priority, enq, owner, member, status, ringing
--   wq:<queue>         zset  waiting calls of a queue in service order (position, waiting())
--   wc:<queue>|<extras> zset the same calls split by class: one class = identical requirements
--   qh:<queue>         zset  extras strings of the classes that have waiting calls, each scored
--                            by its head's waiting score, so
--                            claim reads every class head of a queue in one call (class_heads)
--   av                 hash  available agents: id -> 'lastEnd|calls' (avail_entry), what claim
--                            needs of one beyond cfg, so few agents are one HGETALL
--   cfg                hash  agent id -> its configuration split for claim (packed_config),
--                            written by configure
--   aq:<queue>         zset  available agents eligible for the queue, scored by its strategy
--   as:<skill>         zset  available agents with the skill, scored by proficiency, kept
--                            only for skills in xs
--                            aq and as exist only while qconf has '#idx': claim builds them when
--                            it finds many agents available and drops them when few are left
--                            (claim-agents.lua), as they cost a write per queue and skill on each
--                            agent state change and only pay off in a claim over many agents
--   xs                 set   skills that calls have asked for beyond their queue's
--   staff              hash  queue -> agents staffing it (eligible, and available, ringing, on a
--                            call or wrapping up), '#in' -> agents logged in: what the join check
--                            and the wait estimate need, kept by set_state and configure so
--                            neither reads every agent
--   ready              set   queues where claim must look at every available agent: a class
--                            of calls there was empty (or the queue was reconfigured)
--   fresh              set   agents that became available since the last claim, which looks at
--                            their queues with them as the only candidates (see claim.lua)
-- Waiting-call members are the 16-digit enqueue time followed by the call id, so calls with the
-- same score are served in enqueue order and the member carries its own enqueue time.
local B

-- Comma-separated lists and 'key=value' lists. string.gmatch does the scanning in C, which
-- matters: these run for every state change.
local function split(s)
  local out = {}
  if not s or s == '' then return out end
  for item in string.gmatch(s, '[^,]+') do out[#out + 1] = item end
  return out
end

-- Lower is served first. Same formula as waitingScore in strategy.ts.
local function waiting_score(aging, priority, enq)
  if aging > 0 then return enq - priority * 60000 / aging end
  return -priority
end

local function waiting_member(enq, call_id)
  return string.format('%016.0f', enq) .. call_id
end

-- Lower is offered first. Same formula as agentScore in strategy.ts.
local function agent_score(code, last_end, calls, sum)
  if code == 'f' then return math.min(calls, 899) * 1e13 + last_end end
  if code == 'm' then return -sum * 1e13 + last_end end
  return last_end
end

-- Only skills that some call has asked for as an extra (set `xs`) get an index: those are the
-- ones claim has to look up across agents; queue skills are covered by aq:<queue>.
-- Returns parallel lists of the agent's indexed skills and their proficiency.
local function extra_skills(sk)
  local args, profs = { 'SMISMEMBER', B .. 'xs' }, {}
  for skill, p in string.gmatch(sk, '([^,=]+)=(%d+)') do
    args[#args + 1] = skill
    profs[#profs + 1] = p
  end
  local names, kept = {}, {}
  if #args == 2 then return names, kept end
  local is = redis.call(unpack(args))
  for i = 1, #profs do
    if is[i] == 1 then
      names[#names + 1] = args[i + 2]
      kept[#kept + 1] = profs[i]
    end
  end
  return names, kept
end

-- elig: 'queue=<strategy code>:<sum of proficiency on the queue skills>,...'
local ELIG = '([^,=]+)=(%a):(%d+)'

-- A number as text, as redis.call would write it ('%.17g', which a Lua number argument gets on
-- the way in: 2.6k instructions a number, a tenth of a bulk claim's index build), but whole
-- numbers below 2^53 (milliseconds, counts, agent_score's scores) with '%d', which reads back
-- as the same double at a third of the cost.
local function num_text(x)
  if x % 1 == 0 and x > -9007199254740992 and x < 9007199254740992 then return string.format('%d', x) end
  return string.format('%.17g', x)
end

-- An agent's configuration as claim needs it, split: MessagePack values endpoint, n, then n
-- times queue, strategy code, proficiency sum (the queues the agent is eligible for), then
-- skill, proficiency for each skill. configure keeps it in the hash `cfg` (agent id -> this), so
-- claim, which reads every available agent it looks at (all 2,000 at a shift start), splits an
-- agent with cmsgpack.unpack in C instead of with gmatch in Lua (~8 µs an agent, a sixth of a
-- bulk claim), and state changes neither split nor write it. Values packed one after the
-- other, not as arrays: unpack returns them on the stack, read into one table made at its
-- size, where nested arrays were built up an element at a time (twice the cost).
local function split_config(endpoint, elig, sk)
  local cfg = { endpoint, 0 }
  local n = 0
  for q, code, sum in string.gmatch(elig, ELIG) do
    cfg[#cfg + 1] = q
    cfg[#cfg + 1] = code
    cfg[#cfg + 1] = tonumber(sum)
    n = n + 1
  end
  cfg[2] = n
  for skill, p in string.gmatch(sk, '([^,=]+)=(%d+)') do
    cfg[#cfg + 1] = skill
    cfg[#cfg + 1] = tonumber(p)
  end
  return cfg
end
local function packed_config(endpoint, elig, sk)
  return cmsgpack.pack(unpack(split_config(endpoint, elig, sk)))
end

-- What av holds for an available agent: 'lastEnd|calls'.
local function avail_entry(a)
  return num_text(a.lastEnd) .. '|' .. num_text(a.calls)
end
-- An available agent as claim needs it, from its av entry `v` and its cfg entry `c`: cfg is the
-- split configuration (its queues at 3, 6, ... before sk0, its skills from sk0 on, in twos);
-- last_text is lastEnd as written (the aq score of a longest-idle queue, so the index build
-- need not print it again). Written before cfg existed (an upgrade, until configure runs or
-- while an older instance writes), an entry is 'lastEnd|calls|elig|sk|endpoint' and an agent
-- may have no cfg entry: the configuration then comes from the entry, or the agent's hash.
-- skills and xs are claim's (claim-agents.lua), named so the table is made with room for them.
local function parse_avail(id, v, c)
  v = v or ''
  local p1 = string.find(v, '|', 1, true)
  local t = { id = id, last_text = '0', lastEnd = 0, calls = 0, endpoint = '', cfg = nil, sk0 = 3, skills = nil, xs = nil }
  local cfg
  if p1 then
    local p2 = string.find(v, '|', p1 + 1, true)
    t.last_text = string.sub(v, 1, p1 - 1)
    t.lastEnd = tonumber(t.last_text) or 0
    t.calls = tonumber(string.sub(v, p1 + 1, (p2 or 0) - 1)) or 0
    if not c and p2 then
      local p3 = string.find(v, '|', p2 + 1, true)
      local p4 = p3 and string.find(v, '|', p3 + 1, true)
      if p4 then cfg = split_config(string.sub(v, p4 + 1), string.sub(v, p2 + 1, p3 - 1), string.sub(v, p3 + 1, p4 - 1)) end
    end
  end
  if c then
    cfg = { cmsgpack.unpack(c) }
  elseif not cfg then
    local h = redis.call('HMGET', B .. 'a:' .. id, 'endpoint', 'elig', 'sk')
    cfg = split_config(h[1] or '', h[2] or '', h[3] or '')
  end
  t.cfg, t.endpoint, t.sk0 = cfg, cfg[1], 3 + 3 * cfg[2]
  return t
end

-- Whether the aq/as indexes are kept now (see av above), read once per call (begin() clears it).
local idx_state
local function indexed()
  if idx_state == nil then idx_state = redis.call('HGET', B .. 'qconf', '#idx') ~= false end
  return idx_state
end

local function index_agent(a)
  redis.call('HSET', B .. 'av', a.id, avail_entry(a))
  local idx = indexed()
  if idx then
    local names, profs = extra_skills(a.sk)
    for i, skill in ipairs(names) do
      redis.call('ZADD', B .. 'as:' .. skill, profs[i], a.id)
    end
    for q, code, sum in string.gmatch(a.elig, ELIG) do
      redis.call('ZADD', B .. 'aq:' .. q, num_text(agent_score(code, a.lastEnd, a.calls, tonumber(sum))), a.id)
    end
  end
  -- Claim looks at the queues of a fresh agent with that agent as the only candidate.
  if a.elig ~= '' then redis.call('SADD', B .. 'fresh', a.id) end
end

local function deindex_agent(a)
  redis.call('HDEL', B .. 'av', a.id)
  if not indexed() then return end
  for _, skill in ipairs((extra_skills(a.sk))) do
    redis.call('ZREM', B .. 'as:' .. skill, a.id)
  end
  for q in string.gmatch(a.elig, ELIG) do
    redis.call('ZREM', B .. 'aq:' .. q, a.id)
  end
end

local function load_agent(id)
  local v = redis.call('HMGET', B .. 'a:' .. id, 'state', 'reason', 'lastEnd', 'calls', 'call', 'queue', 'sk', 'elig', 'endpoint', 'ra', 'wrap')
  if not v[1] then return nil end
  return {
    id = id, state = v[1], reason = v[2] or '', lastEnd = tonumber(v[3]) or 0, calls = tonumber(v[4]) or 0,
    call = v[5] or '', queue = v[6] or '', sk = v[7] or '', elig = v[8] or '', endpoint = v[9] or '',
    ring_all = v[10] == '1', wrap = tonumber(v[11]),
  }
end

-- States in which an agent counts as staffing its queues (working or about to be free).
local STAFFING = { available = true, ringing = true, on_call = true, wrap_up = true }

-- The staff counts after an agent moved between `from` and `to` (claim's available -> ringing
-- changes neither, so it need not call this).
local function count_staff(a, from, to)
  if (from == 'logged_out') ~= (to == 'logged_out') then
    local d = 1
    if to == 'logged_out' then d = -1 end
    redis.call('HINCRBY', B .. 'staff', '#in', d)
  end
  if (STAFFING[from] == true) ~= (STAFFING[to] == true) then
    local d = 1
    if not STAFFING[to] then d = -1 end
    for q in string.gmatch(a.elig, ELIG) do redis.call('HINCRBY', B .. 'staff', q, d) end
  end
end

-- The only writer of an agent's state (but for claim's available -> ringing): keeps the
-- availability indexes and staff counts in step with it and returns the change for the
-- agent.state_changed event. `extra`: more field, value pairs for the same HSET (one call
-- instead of two).
local function set_state(a, to, reason, call, queue, now, extra)
  local from = a.state
  count_staff(a, from, to)
  if from == 'available' and to ~= 'available' then deindex_agent(a) end
  local args = { 'HSET', B .. 'a:' .. a.id, 'state', to, 'reason', reason, 'call', call, 'queue', queue, 'since', num_text(now) }
  if extra then
    for _, v in ipairs(extra) do args[#args + 1] = v end
  end
  redis.call(unpack(args))
  a.state = to
  if to == 'available' and from ~= 'available' then index_agent(a) end
  return { agentId = a.id, from = from, to = to, reason = reason, at = now }
end

-- Puts a call (back) in its queue's order and class, and tells claim to look at the queue.
-- `aging`: the queue's, when the caller has read it already; `extra`: more field, value pairs
-- for the call's HSET.
local function add_waiting(call_id, queue, extras, priority, enq, aging, extra)
  if aging == nil then aging = tonumber(redis.call('HGET', B .. 'q:' .. queue, 'aging')) or 0 end
  local member = waiting_member(enq, call_id)
  local score = waiting_score(aging, priority, enq)
  redis.call('ZADD', B .. 'wq:' .. queue, score, member)
  redis.call('ZADD', B .. 'wc:' .. queue .. '|' .. extras, score, member)
  -- LT: the class's head score only ever improves by an addition (a new class is added).
  -- Only a class that had no calls can be served by an agent already available (one that
  -- could serve the class would have been given its calls), so only then is the queue ready;
  -- whether an agent can take it is claim's to find out.
  if redis.call('ZADD', B .. 'qh:' .. queue, 'LT', score, extras) == 1 then redis.call('SADD', B .. 'ready', queue) end
  local args = { 'HSET', B .. 'c:' .. call_id, 'status', 'waiting', 'ringing', '', 'member', member }
  if extra then
    for _, v in ipairs(extra) do args[#args + 1] = v end
  end
  redis.call(unpack(args))
  return redis.call('ZRANK', B .. 'wq:' .. queue, member) + 1
end

-- A class's entry in qh:<queue> after its head may have left: the new head's score, or no
-- entry when the class is empty.
local function refresh_class_head(queue, extras)
  local head = redis.call('ZRANGE', B .. 'wc:' .. queue .. '|' .. extras, 0, 0, 'WITHSCORES')
  if #head == 0 then
    redis.call('ZREM', B .. 'qh:' .. queue, extras)
  else
    redis.call('ZADD', B .. 'qh:' .. queue, head[2], extras)
  end
end

local function remove_waiting(queue, extras, member)
  redis.call('ZREM', B .. 'wq:' .. queue, member)
  redis.call('ZREM', B .. 'wc:' .. queue .. '|' .. extras, member)
  refresh_class_head(queue, extras)
end

-- Every class of a queue with its head's score, best first: flat extras, score, ...
local function class_heads(queue)
  return redis.call('ZRANGE', B .. 'qh:' .. queue, 0, -1, 'WITHSCORES')
end

-- qh:<queue> rebuilt from the classes of every queue. configure or claim runs it once, when
-- qconf lacks the field '#qh' (no queue name starts with '#'): data written before the index
-- existed, which kept the classes in a set qc:<queue> (dropped here; qh is the list since).
local function rebuild_class_heads()
  for _, q in ipairs(redis.call('SMEMBERS', B .. 'queues')) do
    -- qh may already hold classes that calls entered since the upgrade (not in qc).
    for _, extras in ipairs(redis.call('SMEMBERS', B .. 'qc:' .. q)) do refresh_class_head(q, extras) end
    for _, extras in ipairs(redis.call('ZRANGE', B .. 'qh:' .. q, 0, -1)) do refresh_class_head(q, extras) end
    redis.call('DEL', B .. 'qc:' .. q)
  end
  redis.call('HSET', B .. 'qconf', '#qh', 1)
end

-- Ringing agents of a call that are still ringing for it go back to available.
local function release_ringing(call_id, ringing, except, now, changes, released)
  for _, id in ipairs(split(ringing)) do
    if id ~= except then
      local a = load_agent(id)
      if a and a.state == 'ringing' and a.call == call_id then
        changes[#changes + 1] = set_state(a, 'available', '', '', '', now)
        released[#released + 1] = id
      end
    end
  end
end

local function fail(code, message, extra)
  local r = extra or {}
  r.error = code
  r.message = message
  return cjson.encode(r)
end
