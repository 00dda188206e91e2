-- One wrk script for every path of `make bench`, driven by environment variables:
--   WRK_METHOD  GET (default) or POST
--   WRK_PATHS   space-separated paths, rotated per request (a single path is fine)
--   WRK_TOKENS  space-separated bearer tokens, rotated per request (optional)
--   WRK_BODY    request body; every "{n}" becomes a number unique in the run (optional)
-- done() prints one JSON line that bench/run.py reads.
local method = os.getenv("WRK_METHOD") or "GET"
local paths, tokens = {}, {}
for p in string.gmatch(os.getenv("WRK_PATHS") or "/", "%S+") do paths[#paths + 1] = p end
for t in string.gmatch(os.getenv("WRK_TOKENS") or "", "%S+") do tokens[#tokens + 1] = t end
local body = os.getenv("WRK_BODY")
local threads = {}
local counter, tid = 0, 0
local statuses = {}
first_error = ""  -- the first answer >= 400 of this thread: its status and the start of its body

function setup(thread)
  thread:set("tid", #threads + 1)
  threads[#threads + 1] = thread
end

function init(args)
  tid = tid or 0
end

function request()
  counter = counter + 1
  local headers = {}
  if #tokens > 0 then
    headers["Authorization"] = "Bearer " .. tokens[(counter + tid * 7) % #tokens + 1]
  end
  local b = nil
  if body then
    headers["Content-Type"] = "application/json"
    b = string.gsub(body, "{n}", tostring(tid * 10000000 + counter))
  end
  return wrk.format(method, paths[(counter + tid * 13) % #paths + 1], headers, b)
end

function response(status, headers, b)
  local k = tostring(status)
  statuses[k] = (statuses[k] or 0) + 1
  if status >= 400 and first_error == "" then
    -- kept JSON-safe for done(): no quote, backslash or control character
    local text = string.gsub(string.sub(b or "", 1, 300), '[%c"\\]', " ")
    first_error = k .. " " .. text
  end
end

function done(summary, latency, requests)
  local agg = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    if s then for k, v in pairs(s) do agg[k] = (agg[k] or 0) + v end end
  end
  local parts, sample = {}, ""
  for _, t in ipairs(threads) do
    local f = t:get("first_error")
    if sample == "" and f and f ~= "" then sample = f end
  end
  for k, v in pairs(agg) do parts[#parts + 1] = string.format('"%s":%d', k, v) end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"socket_errors":%d,"status_errors":%d,"statuses":{%s},"first_error":"%s"}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect + e.read + e.write + e.timeout, e.status, table.concat(parts, ","),
    sample))
end
