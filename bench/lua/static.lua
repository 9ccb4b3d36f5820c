-- The same request every time: method and body from the environment, headers from -H.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local report = require("report")

report.fixed_request()

done = report.done
