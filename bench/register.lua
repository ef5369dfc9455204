-- wrk script for clientreg's benchmarks: every request POSTs a valid RFC 7591 registration with a name of its
-- own (thread and sequence number), two https redirect URIs, explicit grant and response types and contacts.
--
--   wrk -t2 -c32 -d10s --latency -s bench/register.lua http://127.0.0.1:8080/oauth/register
--
-- With BENCH_COUNT_STATUS=1 each status is counted and printed at the end as "status <code>: <count>", followed
-- by "non-201: <count>" (bench/run.sh reads these lines).

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local counting = os.getenv("BENCH_COUNT_STATUS") == "1"
local all_threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("thread_id", next_id)
  all_threads[#all_threads + 1] = thread
end

local sequence = 0

function request()
  sequence = sequence + 1
  local body = '{"redirect_uris":["https://bench.example.net/oauth/callback","https://bench.example.net/cb/2"],'
    .. '"client_name":"bench ' .. tostring(thread_id or 0) .. '-' .. tostring(sequence) .. '",'
    .. '"grant_types":["authorization_code","refresh_token"],"response_types":["code"],'
    .. '"token_endpoint_auth_method":"client_secret_basic","contacts":["bench@example.net"]}'
  return wrk.format(nil, nil, nil, body)
end

if counting then
  counts = {}
  function response(status, headers, body)
    counts[status] = (counts[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  if not counting then return end
  local totals = {}
  for _, thread in ipairs(all_threads) do
    local per_thread = thread:get("counts") or {}
    for status, n in pairs(per_thread) do totals[status] = (totals[status] or 0) + n end
  end
  local non_201 = 0
  for status, n in pairs(totals) do
    io.write(string.format("status %d: %d\n", status, n))
    if status ~= 201 then non_201 = non_201 + n end
  end
  io.write(string.format("non-201: %d\n", non_201))
end
