-- releaseGoneRings: ARGV[2] owner, [3] beats before this (ms) are gone, [4] how long (ms) after
-- the owner's last beat a ring still counts as its own, [5] now.
-- An instance that died with agents ringing for its callers (legs it had originated, offers it
-- had taken from its list) leaves them ringing: only it would have heard their legs end. Once
-- per silence of the owner (`rings-freed` <owner> = the last beat it ran for; a restarted owner
-- beats anew), and in one step with the check that it is still silent, every agent ringing for
-- one of its callers since before its last beat + ARGV[4] goes back to available. Left alone:
--   offers still in its list `offers:<owner>` (takeGone serves them; every instance runs this
--   before it pops, so a popped offer was never released here), and
--   rings that started later: a live instance serving the gone owner's callback request.
-- A callback request goes back to its place (the next claim serves it from a live instance);
-- an ordinary caller leaves routing and is returned with its channel, for its instance_lost end.
-- Reads every agent: run once per gone instance, not per beat.
local owner, gone_before, own_ms, now = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local changes, requeued, lost = {}, {}, {}
local function result() return cjson.encode({ changes = changes, requeued = requeued, lost = lost }) end
local last = redis.call('HGET', B .. 'instances', owner)
if not last or tonumber(last) >= gone_before or redis.call('HGET', B .. 'rings-freed', owner) == last then return result() end
redis.call('HSET', B .. 'rings-freed', owner, last)
local listed = {}
for _, o in ipairs(redis.call('LRANGE', B .. 'offers:' .. owner, 0, -1)) do
  local ok, v = pcall(cjson.decode, o)
  if ok and type(v) == 'table' and v.callId then listed[v.callId] = true end
end
local rung_before, done = tonumber(last) + own_ms, {}
for _, id in ipairs(redis.call('SMEMBERS', B .. 'agents')) do
  local a = redis.call('HMGET', B .. 'a:' .. id, 'state', 'call', 'since')
  local call_id = a[2]
  if a[1] == 'ringing' and call_id and not done[call_id] and not listed[call_id] and (tonumber(a[3]) or 0) <= rung_before then
    done[call_id] = true
    local ck = B .. 'c:' .. call_id
    local c = redis.call('HMGET', ck, 'owner', 'status', 'ringing', 'queue', 'extras', 'priority', 'enq', 'cb', 'ch')
    if c[1] == owner and c[2] == 'offered' then
      release_ringing(call_id, c[3], '', now, changes, {})
      if c[8] then
        add_waiting(call_id, c[4], c[5], tonumber(c[6]), tonumber(c[7]))
        requeued[#requeued + 1] = call_id
      else
        redis.call('DEL', ck)
        lost[#lost + 1] = { callId = call_id, channel = c[9] or '' }
      end
    end
  end
end
return result()
