-- Shared wrk callback: print the run's summary as one JSON line the driver parses.
local M = {}

-- ``extra`` (optional): more JSON members, already encoded, e.g. '"statuses": {"200": 5}'.
-- The same request every time: method and body from the environment (headers come from -H).
function M.fixed_request()
  wrk.method = os.getenv("BENCH_METHOD") or "GET"
  local body = os.getenv("BENCH_BODY")
  if body and body ~= "" then
    wrk.body = body
  end
end

function M.done(summary, latency, requests, extra)
  local percentiles = {}
  for _, q in ipairs({50, 90, 99, 99.9}) do
    percentiles[#percentiles + 1] = string.format('"%s": %d', q, latency:percentile(q))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
      .. '"latency_us": {"mean": %.1f, "stdev": %.1f, "max": %d, "percentiles": {%s}}%s}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.stdev, latency.max, table.concat(percentiles, ", "),
    extra and (", " .. extra) or ""
  ))
end

return M
