-- agents: ARGV[2] one agent id, or '' for all. Returns one flat HGETALL list per agent.
local ids
if ARGV[2] ~= '' then ids = { ARGV[2] } else ids = redis.call('SMEMBERS', B .. 'agents') end
local out = {}
for _, id in ipairs(ids) do
  local h = redis.call('HGETALL', B .. 'a:' .. id)
  if #h > 0 then
    h[#h + 1] = 'id'
    h[#h + 1] = id
    out[#out + 1] = h
  end
end
return out
