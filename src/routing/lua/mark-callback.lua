-- markCallback: ARGV[2] callId, [3] the number to call back, then field/value pairs of what a
-- restarted instance needs (cbDialed, cbEntry, cbRules, cbRecord, cbSeq, cbLeftIn; see routing-store.ts).
-- Only a call that still waits becomes a callback request: returns 1, else 0. cbRules gets the
-- rules given and keeps those overflow.lua recorded on this call meanwhile: a rule that applied
-- while the request was being made is not forgotten (a restart would apply it again).
local ck = B .. 'c:' .. ARGV[2]
if redis.call('HGET', ck, 'status') ~= 'waiting' then return 0 end
local fields = { 'cb', ARGV[3] }
for i = 4, #ARGV - 1, 2 do
  local name, value = ARGV[i], ARGV[i + 1]
  if name == 'cbRules' then
    local seen, rules = {}, {}
    for _, r in ipairs(split((redis.call('HGET', ck, 'cbRules') or '') .. ',' .. value)) do
      if not seen[r] then
        seen[r] = true
        rules[#rules + 1] = r
      end
    end
    value = table.concat(rules, ',')
  end
  fields[#fields + 1] = name
  fields[#fields + 1] = value
end
redis.call('HSET', ck, unpack(fields))
return 1
