-- Take back one attempt from each counter (it succeeded). A counter that has expired is not
-- brought back; one that reaches zero is removed.
-- KEYS: the counters.
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    if redis.call('DECR', key) <= 0 then
      redis.call('DEL', key)
    end
  end
end
return 0
