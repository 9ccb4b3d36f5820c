-- Refresh-token rotation chains: every request spends a refresh token that was never used.
--
-- BENCH_POOL names a file of fresh refresh tokens (one a line, from real code exchanges); thread
-- k of n takes lines k, k+n, ... Each 200 response carries the rotated token, which goes to the
-- back of the thread's queue, so the chains run for the whole duration as a real client's would.
-- A failed refresh ends its chain; a thread whose queue runs dry stops (the run then counts
-- fewer requests, and the driver reports the errors).
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local report = require("report")

local next_thread = 0
function setup(thread)
  thread:set("thread_index", next_thread)
  next_thread = next_thread + 1
end

local queue, head, tail = {}, 1, 0

function init(args)
  local threads = tonumber(os.getenv("BENCH_THREADS"))
  local i = 0
  for line in io.lines(os.getenv("BENCH_POOL")) do
    if line ~= "" then
      if i % threads == thread_index then
        tail = tail + 1
        queue[tail] = line
      end
      i = i + 1
    end
  end
end

function request()
  local token = queue[head]
  if token == nil then
    wrk.thread:stop()
    token = "pool-exhausted"
  else
    queue[head] = nil
    head = head + 1
  end
  return wrk.format("POST", nil, nil, "grant_type=refresh_token&refresh_token=" .. token)
end

function response(status, headers, body)
  local token = body:match('"refresh_token"%s*:%s*"([^"]+)"')
  if token then
    tail = tail + 1
    queue[tail] = token
  end
end

done = report.done
