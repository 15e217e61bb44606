-- Book one place, atomically. Redis runs a script without interleaving any other command,
-- so nothing can change between the checks and the writes.
-- KEYS: 1 capacity hash, 2 taken hash, 3 holders hash, 4 booking hash, 5 outbox stream,
--       6 (optional) the submission's idempotency key
-- ARGV: 1 slot field, 2 person key, 3 reference, 4 booking JSON, 5 event key, 6 event JSON,
--       7 (with KEYS[6]) the request's fingerprint, 8 how long to keep the key (ms)
if KEYS[6] then
  local prior = redis.call('HMGET', KEYS[6], 'reference', 'fingerprint')
  if prior[1] then
    if prior[2] == ARGV[7] then
      return 'replayed:' .. prior[1]
    end
    return 'key_reused'
  end
end
if redis.call('HEXISTS', KEYS[3], ARGV[2]) == 1 then
  return 'already_booked'
end
local capacity = tonumber(redis.call('HGET', KEYS[1], ARGV[1]))
if capacity == nil then
  return 'slot_missing'
end
local taken = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if taken >= capacity then
  return 'sold_out'
end
if redis.call('EXISTS', KEYS[4]) == 1 then
  return 'reference_taken'
end
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[4], 'person', ARGV[2], 'slot', ARGV[1], 'status', 'confirmed', 'data', ARGV[4])
redis.call('XADD', KEYS[5], '*', 'key', ARGV[5], 'event', ARGV[6])
if KEYS[6] then
  redis.call('HSET', KEYS[6], 'reference', ARGV[3], 'fingerprint', ARGV[7])
  redis.call('PEXPIRE', KEYS[6], ARGV[8])
end
return 'booked'
