-- Authorization-code exchange: every request spends a code that was never used.
--
-- BENCH_POOL names a file of "code verifier" lines (fresh codes from /o/authorize/ with PKCE
-- S256, made just before the run); thread k of n takes lines k, k+n, ... A thread whose share
-- is spent stops (wrk then reports the time until the last thread stopped, so the rate stays
-- right); the driver sizes the pool from the previous round's rate and says when it ran dry.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local report = require("report")

local threads = {}
local next_thread = 0
function setup(thread)
  thread:set("thread_index", next_thread)
  next_thread = next_thread + 1
  threads[#threads + 1] = thread
end

local queue, head = {}, 1
local redirect_uri = os.getenv("BENCH_REDIRECT_URI")

local function escape(text)
  return (text:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function init(args)
  local threads_n = tonumber(os.getenv("BENCH_THREADS"))
  local i = 0
  for line in io.lines(os.getenv("BENCH_POOL")) do
    if line ~= "" then
      if i % threads_n == thread_index then
        queue[#queue + 1] = line
      end
      i = i + 1
    end
  end
  dry = 0
end

function request()
  local entry = queue[head]
  if entry == nil then
    dry = 1
    wrk.thread:stop()
    entry = "pool-exhausted none"
  else
    queue[head] = nil
    head = head + 1
  end
  local code, verifier = entry:match("^(%S+) (%S+)$")
  return wrk.format("POST", nil, nil, "grant_type=authorization_code&code=" .. escape(code)
    .. "&redirect_uri=" .. escape(redirect_uri) .. "&code_verifier=" .. escape(verifier))
end

function done(summary, latency, requests)
  local ran_dry = 0
  for _, thread in ipairs(threads) do
    ran_dry = ran_dry + (thread:get("dry") or 0)
  end
  report.done(summary, latency, requests, string.format('"threads_ran_dry": %d', ran_dry))
end
