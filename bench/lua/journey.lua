-- The full sign-in journey of a browser and its app, as one loop per connection:
--   1. GET  /o/authorize/?...           (no session: 302 to the sign-in page)
--   2. POST /accounts/login/            (password, Argon2id: 302 back to the authorization URL)
--   3. GET  /o/authorize/?...           (signed in, consent skipped: 302 with a code)
--   4. POST /o/token/                   (the code, its PKCE verifier: 200 with the tokens)
-- Run it with as many threads as connections (one connection a thread), so each thread's
-- requests and responses alternate. Thread k signs in as bench-user-k (the sign-in view lets
-- one sign-in of an account run at a time). The CSRF cookie and form token are reused (wrk
-- keeps no cookies); the session cookie of step 2 is carried to step 3. "journeys" counts step
-- 4's 200s. With BENCH_LOGIN_ONLY set, every request is step 2 and "journeys" counts its 302s.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local report = require("report")

local threads = {}
function setup(thread)
  thread:set("thread_index", #threads)
  threads[#threads + 1] = thread
end

local authorize = os.getenv("BENCH_AUTHORIZE")    -- path and query of the authorization request
local login_body = os.getenv("BENCH_LOGIN_BODY")  -- username, password, csrf token, next
local csrf_cookie = os.getenv("BENCH_CSRF_COOKIE")
local client_auth = os.getenv("BENCH_CLIENT_AUTH")
local token_body = os.getenv("BENCH_TOKEN_BODY")  -- redirect_uri and code_verifier, "&code=" last

local login_only = os.getenv("BENCH_LOGIN_ONLY") ~= nil
local step, session, code = 1, nil, nil

function init(args)
  journeys, broken = 0, 0
  login_body = login_body:gsub("BENCH_USERNAME", "bench-user-" .. thread_index)
  if login_only then step = 2 end
end

function request()
  if step == 1 then
    return wrk.format("GET", authorize, {["Cookie"] = "csrftoken=" .. csrf_cookie})
  elseif step == 2 then
    return wrk.format("POST", "/accounts/login/", {
      ["Cookie"] = "csrftoken=" .. csrf_cookie,
      ["Content-Type"] = "application/x-www-form-urlencoded",
    }, login_body)
  elseif step == 3 then
    return wrk.format("GET", authorize, {["Cookie"] = "csrftoken=" .. csrf_cookie .. "; " .. session})
  end
  return wrk.format("POST", "/o/token/", {
    ["Authorization"] = client_auth,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, token_body .. code)
end

local function restart(status)
  if os.getenv("BENCH_DEBUG") then
    io.stderr:write("journey step " .. step .. ": " .. status .. "\n")
  end
  broken = broken + 1
  step = 1
end

function response(status, headers, body)
  if step == 1 then
    if status == 302 then step = 2 else restart(status) end
  elseif login_only then
    if status == 302 then journeys = journeys + 1 else restart(status) end
    step = 2
  elseif step == 2 then
    local cookie = headers["Set-Cookie"] or ""
    session = cookie:match("(sessionid=[^;]+)")
    if status == 302 and session then step = 3 else restart(status) end
  elseif step == 3 then
    code = (headers["Location"] or ""):match("[?&]code=([^&]+)")
    if status == 302 and code then step = 4 else restart(status) end
  else
    if status == 200 then journeys = journeys + 1 else broken = broken + 1 end
    step = 1
  end
end

function done(summary, latency, requests)
  local total, failed = 0, 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("journeys")
    failed = failed + thread:get("broken")
  end
  report.done(summary, latency, requests,
    string.format('"journeys": %d, "journeys_broken": %d', total, failed))
end
