-- wrk script for bench/customers_load.py: GET a random path from a file, report JSON.
--
--   wrk -t1 -c10 -d25s -s bench/paths.lua -H "Cookie: sessionid=..." URL -- paths.txt [htmx-target]
--
-- Each line of paths.txt is a path ("/o/bench/customers/?q=smith"). With a second argument the
-- requests carry htmx's headers (HX-Request, HX-Target) so the view answers with its fragment.
-- done() prints one line "RESULT {json}" with latency percentiles in milliseconds, requests per
-- second and the number of answers that were not 200 (a redirect to sign-in counts as one).

local threads = {}
local paths = {}
local target = nil
non_200 = 0  -- global: done() reads it from each thread

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  target = args[2]
  math.randomseed(os.time() + #threads * 7919 + math.floor(os.clock() * 1000000))
end

function request()
  -- wrk.format replaces wrk.headers (the -H options: the session cookie) by a table given.
  local headers = {}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  if target then
    headers["HX-Request"] = "true"
    headers["HX-Target"] = target
  end
  return wrk.format("GET", paths[math.random(#paths)], headers)
end

function response(status, headers, body)
  if status ~= 200 then
    non_200 = non_200 + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("non_200") or 0)
  end
  local seconds = summary.duration / 1000000
  local function ms(value) return value / 1000 end
  io.write(string.format(
    'RESULT {"requests": %d, "seconds": %.2f, "rps": %.1f, "non_200": %d, ' ..
    '"socket_errors": %d, "p50_ms": %.1f, "p90_ms": %.1f, "p95_ms": %.1f, "p99_ms": %.1f, ' ..
    '"max_ms": %.1f, "mean_ms": %.1f}\n',
    summary.requests, seconds, summary.requests / seconds, bad,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    ms(latency:percentile(50)), ms(latency:percentile(90)), ms(latency:percentile(95)),
    ms(latency:percentile(99)), ms(latency.max), ms(latency.mean)))
end
