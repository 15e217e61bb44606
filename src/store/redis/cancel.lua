-- Cancel one booking, atomically: the mirror image of book.lua.
-- KEYS: 1 taken hash, 2 holders hash, 3 booking hash, 4 outbox stream
-- ARGV: 1 person key, 2 cancelled-at (RFC 3339), 3 event key, 4 event JSON
local found = redis.call('HMGET', KEYS[3], 'person', 'slot', 'status')
if not found[1] or found[1] ~= ARGV[1] then
  return 'not_found'
end
if found[3] ~= 'confirmed' then
  return 'already_cancelled'
end
redis.call('HSET', KEYS[3], 'status', 'cancelled', 'cancelled_at', ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HINCRBY', KEYS[1], found[2], -1)
redis.call('XADD', KEYS[4], '*', 'key', ARGV[3], 'event', ARGV[4])
return 'cancelled'
