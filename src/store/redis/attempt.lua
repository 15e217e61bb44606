-- Count one attempt against each limit, atomically, or none when one is reached.
-- KEYS: the counters. ARGV: per key, its maximum and its window in ms (2 values each).
-- A counter lives for its window from its first attempt; the attempt that reaches the maximum
-- restarts the window, so the counter then refuses for a whole window.
-- Returns {0} when counted, or {i, ms} when the i-th counter (1-based) refuses for ms more.
for i, key in ipairs(KEYS) do
  local max = tonumber(ARGV[2 * i - 1])
  if max > 0 and tonumber(redis.call('GET', key) or '0') >= max then
    local left = redis.call('PTTL', key)
    if left < 1 then left = 1 end
    return {i, left}
  end
end
for i, key in ipairs(KEYS) do
  local max = tonumber(ARGV[2 * i - 1])
  local window = ARGV[2 * i]
  if max > 0 then
    local count = redis.call('INCR', key)
    if count == 1 or count == max then
      redis.call('PEXPIRE', key, window)
    end
  end
end
return {0}
