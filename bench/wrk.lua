-- wrk script for the webhook windows (bench/wrk.py): each thread sends its own pre-signed
-- requests, in order, and counts the acks it reads.
--   wrk -s bench/wrk.lua ... URL -- FILE_PREFIX
-- FILE_PREFIX.<thread> holds raw HTTP requests separated by NUL bytes. A thread that runs out
-- sends its first ones again and counts it in `wrapped`: replayed signatures, which Posko
-- refuses (the bench then fails the window), harmless only against the trivial endpoint.

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(args[1] .. "." .. id, "rb"))
  local data = f:read("*a")
  f:close()
  reqs = {}
  local pos = 1
  while true do
    local e = string.find(data, "\0", pos, true)
    if not e then break end
    reqs[#reqs + 1] = string.sub(data, pos, e - 1)
    pos = e + 1
  end
  n = #reqs
  i = 0
  sent, answered, stored, duplicate, rejected, bad_status, wrapped = 0, 0, 0, 0, 0, 0, 0
end

function request()
  i = i + 1
  if i > n then
    i = 1
    wrapped = wrapped + 1
  end
  sent = sent + 1
  return reqs[i]
end

local function count(body, what)
  local _, k = string.gsub(body, what, "")
  return k
end

function response(status, headers, body)
  answered = answered + 1
  if status == 200 or status == 207 or status == 422 then
    stored = stored + count(body, '"result":"stored"')
    duplicate = duplicate + count(body, '"result":"duplicate"')
    rejected = rejected + count(body, '"result":"rejected"')
  else
    bad_status = bad_status + 1
  end
end

function done(summary, latency, requests)
  local t = {sent = 0, answered = 0, stored = 0, duplicate = 0, rejected = 0, bad_status = 0,
             wrapped = 0}
  for _, thread in ipairs(threads) do
    for k, _ in pairs(t) do
      t[k] = t[k] + thread:get(k)
    end
  end
  local e = summary.errors
  io.write(string.format(
    '{"duration_us": %d, "requests": %d, "sent": %d, "answered": %d, "stored": %d, ' ..
    '"duplicate": %d, "rejected": %d, "bad_status": %d, "wrapped": %d, "connect": %d, ' ..
    '"read": %d, "write": %d, "timeout": %d}\n',
    summary.duration, summary.requests, t.sent, t.answered, t.stored, t.duplicate, t.rejected,
    t.bad_status, t.wrapped, e.connect, e.read, e.write, e.timeout))
end
