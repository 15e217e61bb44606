-- wrk script: bookings by distinct people. Every request carries a different valid MyKad
-- number (a real birth date in 1950-1999, a place-of-birth code per wrk thread, a serial), so
-- no request is refused as "already booked" or by the per-identity attempt limit.
-- Environment: BENCH_CENTRE (default BENCH), BENCH_WINDOW (default 09:00-17:00),
-- BENCH_PLACE_BASE: first place-of-birth code (thread t uses BASE + t; runs use disjoint codes).
-- Prints "STATUS <code> <count>" lines at the end, so confirmations can be checked.

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  centre = os.getenv("BENCH_CENTRE") or "BENCH"
  window = os.getenv("BENCH_WINDOW") or "09:00-17:00"
  place = tonumber(os.getenv("BENCH_PLACE_BASE") or "1") + tid
  counter = 0
  s200, s201, s409, s429, s503, sother = 0, 0, 0, 0, 0, 0
end

function request()
  counter = counter + 1
  local serial = counter % 10000
  local d = math.floor(counter / 10000)
  local dd = d % 28 + 1
  local mm = math.floor(d / 28) % 12 + 1
  local yy = 50 + math.floor(d / 336) % 50
  local id = string.format("%02d%02d%02d%02d%04d", yy, mm, dd, place, serial)
  local body = string.format(
    '{"centre":"%s","date":"2021-05-16","window":"%s","idNumber":"%s",' ..
    '"name":"Bench Person","phone":"0123456789","address":"Jalan Ujian 1, Shah Alam"}',
    centre, window, id)
  return wrk.format("POST", "/api/v1/bookings", { ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, body)
  if status == 201 then s201 = s201 + 1
  elseif status == 200 then s200 = s200 + 1
  elseif status == 409 then s409 = s409 + 1
  elseif status == 429 then s429 = s429 + 1
  elseif status == 503 then s503 = s503 + 1
  else sother = sother + 1 end
end

function done(summary, latency, requests)
  local totals = { s200 = 0, s201 = 0, s409 = 0, s429 = 0, s503 = 0, sother = 0 }
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do
      totals[name] = totals[name] + (thread:get(name) or 0)
    end
  end
  for name, count in pairs(totals) do
    io.write(string.format("STATUS %s %d\n", name, count))
  end
end
