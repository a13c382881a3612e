-- wrk script for bench/run.sh: every request is one MCP `tools/call` of the echo server's `echo` tool.
--
-- The request is the stateless form of the 2026-07-28 revision that ModelContextProtocol.AspNetCore 2.4 serves
-- without a session (SEP-2567, SEP-2575): MCP-Protocol-Version, Mcp-Method and Mcp-Name headers here, the protocol
-- version and client capabilities in params._meta of the body (bench/mcp-tools-call.json, path in BENCH_BODY_FILE;
-- run.sh sends the same body and headers once with curl before measuring).
-- BENCH_AUTHORIZATION, when set, is sent as the Authorization header: run.sh sets it per target to
-- "Bearer <access token>" or "Bearer gatehouse_sa_..." for the protected route, and leaves it unset otherwise.
-- There is no `response()` callback: it would make wrk parse every answer and slow the load generator down; status
-- codes are checked through the summary in done() instead.

local path = os.getenv("BENCH_BODY_FILE") or error("set BENCH_BODY_FILE to the JSON-RPC body (bench/mcp-tools-call.json)")
local file = assert(io.open(path, "rb"))
local body = file:read("*a"):gsub("%s+$", "")
file:close()

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2026-07-28"
wrk.headers["Mcp-Method"] = "tools/call"
wrk.headers["Mcp-Name"] = "echo"

local authorization = os.getenv("BENCH_AUTHORIZATION")
if authorization and authorization ~= "" then
  wrk.headers["Authorization"] = authorization
end

-- One machine-readable line that run.sh parses. wrk's latency histogram is in microseconds, while its
-- human-readable "Latency Distribution" switches between us and ms with two decimals, so that is not parsed.
-- errors.status counts answers with a status above 399 (wrk's "Non-2xx or 3xx responses" line).
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d mean_us=%.1f "
      .. "status_errors=%d connect_errors=%d read_errors=%d write_errors=%d timeouts=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    e.status, e.connect, e.read, e.write, e.timeout))
end
