-- Licensed under the Apache License, Version 2.0.
-- wrk script: send pre-signed raw requests (records "<length>\n<bytes>" written by
-- sign.py) and print one JSON line of results.
--   wrk ... -s req.lua URL -- FILE MODE THREADS [COLLECT]
-- MODE cycle: every thread cycles through all requests (reads, issuance).
-- MODE once:  each request is sent exactly once, split across the THREADS threads; a
--             thread stops when its share is answered and the rate is counted up to the
--             last answer (RevokeCertificate: each certificate can be revoked once).
-- COLLECT: a file to which the CertificateArn of every 200 answer is appended.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_ts;
int clock_gettime(int clk, bench_ts *ts);
]]
local ts = ffi.new("bench_ts")
local function now()
    ffi.C.clock_gettime(1, ts)
    return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local threads, nextid = {}, 0
function setup(thread)
    thread:set("id", nextid)
    nextid = nextid + 1
    table.insert(threads, thread)
end

local function load(path)
    local f = assert(io.open(path, "rb"))
    local data = f:read("*a")
    f:close()
    local out, pos = {}, 1
    while pos <= #data do
        local nl = data:find("\n", pos, true)
        local len = tonumber(data:sub(pos, nl - 1))
        out[#out + 1] = data:sub(nl + 1, nl + len)
        pos = nl + 1 + len
    end
    return out
end

function init(args)
    local all = load(args[1])
    mode, collect = args[2] or "cycle", args[4]
    local nthreads = tonumber(args[3] or "1")
    reqs = {}
    if mode == "once" then
        for i = id + 1, #all, nthreads do reqs[#reqs + 1] = all[i] end
    else
        reqs = all
    end
    sent, reserved, answered, ok, bad, first_bad, arns = 0, 0, 0, 0, 0, "", {}
    t_start, t_end = 0, 0
    if mode ~= "once" then
        delay = nil
        if not collect then
            response = nil -- wrk then skips header and body parsing
        end
    end
end

-- once: delay() hands out the remaining requests one per call (a connection that gets
-- none waits an hour, i.e. until the thread stops after its last answer).
function delay()
    if reserved < #reqs then
        reserved = reserved + 1
        return 0
    end
    return 3600000
end

function request()
    if t_start == 0 then t_start = now() end
    sent = sent + 1
    return reqs[(sent - 1) % #reqs + 1]
end

function response(status, headers, body)
    answered = answered + 1
    if status < 300 then
        ok = ok + 1
        if collect then
            local arn = body:match('"CertificateArn"%s*:%s*"([^"]+)"')
            if arn then arns[#arns + 1] = arn end
        end
    else
        bad = bad + 1
        if first_bad == "" then first_bad = status .. " " .. body:sub(1, 200) end
    end
    if mode == "once" and answered >= #reqs then
        t_end = now()
        wrk.thread:stop()
    end
end

local function jstr(s)
    local escaped = s:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end)
    return '"' .. escaped .. '"'
end

function done(summary, latency, requests)
    -- done() runs in the setup environment: init()'s globals come from the threads.
    local mode, collect = threads[1]:get("mode"), threads[1]:get("collect")
    local e = summary.errors
    local n, bads, sample, t0, t1 = summary.requests, 0, "", nil, 0
    local counted, okn = false, 0
    for _, t in ipairs(threads) do
        local b = t:get("bad") or 0
        bads = bads + b
        if sample == "" then sample = t:get("first_bad") or "" end
        local a = t:get("answered") or 0
        if a > 0 then counted = true end
        okn = okn + (t:get("ok") or 0)
        local s, en = t:get("t_start") or 0, t:get("t_end") or 0
        if s > 0 and (t0 == nil or s < t0) then t0 = s end
        if en > t1 then t1 = en end
        if collect then
            local f = assert(io.open(collect, "a"))
            for _, arn in ipairs(t:get("arns") or {}) do f:write(arn, "\n") end
            f:close()
        end
    end
    local duration = summary.duration / 1e6
    if mode == "once" then
        n = okn + bads
        if t0 and t1 > t0 then duration = t1 - t0 end
    end
    if not counted then bads = e.status end
    io.write(string.format(
        '{"requests":%d,"duration":%.3f,"rps":%.1f,"p50_us":%d,"p99_us":%d,' ..
        '"bad_status":%d,"socket_errors":%d,"timeouts":%d,"bytes":%d,"sample":%s}\n',
        n, duration, n / duration, latency:percentile(50), latency:percentile(99),
        bads, e.connect + e.read + e.write, e.timeout, summary.bytes, jstr(sample)))
end
