-- resetCallsToday: ARGV[2] now. Every agent's callsToday back to 0 (a new day); available
-- agents are re-scored so fewest-calls sees the new counts.
for _, id in ipairs(redis.call('SMEMBERS', B .. 'agents')) do
  local a = load_agent(id)
  if a.state == 'available' then deindex_agent(a) end
  redis.call('HSET', B .. 'a:' .. id, 'calls', 0)
  a.calls = 0
  if a.state == 'available' then index_agent(a) end
end
return 1
