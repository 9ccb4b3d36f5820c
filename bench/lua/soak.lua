-- Soak traffic: the same request every time (as static.lua), every response's status counted,
-- and an optional pause before each request (SOAK_DELAY_MS) to hold a path to a modest rate.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local report = require("report")

report.fixed_request()
local pause = tonumber(os.getenv("SOAK_DELAY_MS") or "0")

local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  statuses = {}
end

if pause > 0 then
  function delay()
    return pause
  end
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      merged[status] = (merged[status] or 0) + count
    end
  end
  local members = {}
  for status, count in pairs(merged) do
    members[#members + 1] = string.format('"%d": %d', status, count)
  end
  report.done(summary, latency, requests, '"statuses": {' .. table.concat(members, ", ") .. "}")
end
