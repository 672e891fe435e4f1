-- One wrk script for every scenario: BENCH_SCENARIO names it, BENCH_DATA points
-- at the Lua table the harness wrote (token, ids, cursors, search terms).
-- `done` prints one JSON line the harness parses.

local scenario = os.getenv("BENCH_SCENARIO")
local data = dofile(os.getenv("BENCH_DATA"))
local auth = { ["Authorization"] = "Bearer " .. data.token, ["Accept"] = "application/json" }
local json_auth = {
  ["Authorization"] = "Bearer " .. data.token,
  ["Accept"] = "application/json",
  ["Content-Type"] = "application/json",
}

local threads = {}
local counter = 0
local nonce = os.getenv("BENCH_NONCE")

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() * 100 + thread_id)
end

local function pick(list)
  return list[math.random(#list)]
end

local function get(path)
  return wrk.format("GET", path, auth)
end

local function vehicle_by_id()
  return get("/api/v1/vehicles/" .. pick(data.vehicles))
end

local function garage_first_page()
  return get("/api/v1/garages/" .. pick(data.garages) .. "/vehicles")
end

local function garage_deep_page()
  local deep = pick(data.deep)
  return get("/api/v1/garages/" .. deep[1] .. "/vehicles?cursor=" .. deep[2])
end

local function search_plate()
  return get("/api/v1/vehicles?q=" .. pick(data.plates))
end

local function search_brand()
  return get("/api/v1/vehicles?q=" .. pick(data.brands))
end

local function search_clients()
  return get("/api/v1/clients?q=" .. pick(data.client_names))
end

-- Quote numbers come from one counter row per organization and year: every
-- creation queues on it, which is what this scenario measures.
local function create_quote()
  local body = string.format(
    '{"client_id":%d,"lines":[{"kind":"part","description":"Filtre à huile","unit_price":"12.50"},{"kind":"labour","description":"Vidange","quantity":"0.5","unit_price":"%d"}]}',
    pick(data.clients), math.random(40, 90))
  return wrk.format("POST", "/api/v1/quotes", json_auth, body)
end

-- Issuing an invoice: a draft is written, then issued, which takes the next
-- number from the organization's one counter row (every issue queues on it).
-- Each thread issues the drafts it created, each once.
local drafts = {}
local function issue_invoice()
  if #drafts > 0 then
    return wrk.format("POST", "/api/v1/invoices/" .. table.remove(drafts) .. "/issue", json_auth, "{}")
  end
  local body = string.format(
    '{"client_id":%d,"lines":[{"kind":"labour","description":"Vidange","quantity":"0.5","unit_price":"%d"}]}',
    pick(data.clients), math.random(40, 90))
  return wrk.format("POST", "/api/v1/invoices", json_auth, body)
end

if scenario == "issue_invoice" then
  -- The drafts created, to issue next (wrk reads bodies only when `response` exists).
  function response(status, headers, body)
    if status == 201 then
      local id = string.match(body, '^{"id":(%d+)')
      if id then table.insert(drafts, id) end
    end
  end
end

-- A payment at the counter on an issued invoice: the payment, the invoice read
-- again with its balance, two audit records.
local function record_payment()
  return wrk.format("POST", "/api/v1/invoices/" .. pick(data.invoices) .. "/payments", json_auth,
    '{"method":"card","amount":"1.00"}')
end

-- An instructor's week on the planning board: one indexed range of lessons, with
-- candidate names, the instructor and the cars fetched once for the page.
local function school_week()
  return get("/api/v1/school/lessons?" .. pick(data.weeks) .. "&instructor_id=" .. pick(data.instructors))
end

-- The bell and the inbox: the unread count, or the first page of notifications,
-- among 5,000 (one indexed keyset query each).
local function inbox()
  if math.random() < 0.5 then
    return get("/api/v1/notifications/unread")
  end
  return get("/api/v1/notifications?limit=20")
end

-- Booking a lesson through the API, every rule checked (availability, the
-- instructor's, the car's and the candidate's other lessons, the daily limit,
-- the car's safety), the lesson, its audit record and the candidate's notice
-- written. Each request takes a slot no other request of this harness process
-- has taken (the harness removes earlier processes' bookings): days from
-- `free_day`, thirty days per wrk run, the thread's share of each day's slots
-- (one lesson per candidate a day, each instructor with their own car).
local run = tonumber(os.getenv("BENCH_RUN") or "0")
local booked = 0
local HOURS = 13 -- 06:00 to 18:00 UTC: 7:00 to 21:00 in Paris, winter and summer
local WRK_THREADS = 2 -- `wrk -t 2` (run.rs); `threads` is filled in the main state only
local function book_lesson()
  local teachers = #data.instructors
  local slots = teachers * HOURS
  local k = booked * WRK_THREADS + (thread_id - 1)
  booked = booked + 1
  local day = data.free_day + run * 30 + math.floor(k / slots)
  local slot = k % slots
  local i = slot % teachers + 1
  local hour = 6 + math.floor(slot / teachers)
  local date = os.date("!%Y-%m-%d", os.time() + day * 86400)
  local body = string.format(
    '{"candidate_id":%d,"instructor_id":%d,"vehicle_id":%d,"starts_at":"%sT%02d:00:00Z","ends_at":"%sT%02d:00:00Z","meeting_point":"Banc d\'essai"}',
    data.candidates[slot % #data.candidates + 1], data.instructors[i], data.cars[i], date, hour, date, hour + 1)
  return wrk.format("POST", "/api/v1/school/lessons", json_auth, body)
end

-- The candidate's portal, a whole page: hours, next lessons, history, results.
local portal_headers = { ["Cookie"] = "volant_session=" .. data.candidate_token, ["Accept"] = "text/html" }
local function candidate_portal()
  return wrk.format("GET", "/portal", portal_headers)
end

-- The workshop dashboard over the last twelve months of quotes and work.
local function dashboard()
  return get("/api/v1/dashboard")
end

-- A quote's PDF, rendered on each request.
local function quote_pdf()
  return get("/api/v1/quotes/" .. pick(data.quotes) .. "/pdf")
end

-- A vehicle's service history among a million interventions.
local function vehicle_history()
  return get("/api/v1/vehicles/" .. pick(data.vehicles) .. "/interventions")
end

-- The first page of invoices among a hundred thousand.
local function list_invoices()
  return get("/api/v1/invoices")
end

local function list_garages()
  return get("/api/v1/garages")
end

local function create_vehicle()
  counter = counter + 1
  -- Z + run nonce + thread + counter: unique across threads and runs, never a seeded plate.
  local plate = string.format("Z%s%d%06d", nonce, thread_id % 10, counter)
  local body = string.format(
    '{"garage_id":%d,"brand":"Renault","model":"Clio","year":2021,"license_plate":"%s","mileage_km":%d,"fuel_type":"diesel"}',
    pick(data.garages), plate, math.random(0, 200000))
  return wrk.format("POST", "/api/v1/vehicles", json_auth, body)
end

local function update_vehicle()
  local body = string.format('{"mileage_km":%d}', math.random(0, 300000))
  return wrk.format("PATCH", "/api/v1/vehicles/" .. pick(data.vehicles), json_auth, body)
end

local function mixed()
  local r = math.random(100)
  if r <= 35 then return vehicle_by_id()
  elseif r <= 55 then return garage_first_page()
  elseif r <= 65 then return search_plate()
  elseif r <= 75 then return search_brand()
  elseif r <= 80 then return garage_deep_page()
  elseif r <= 90 then return list_garages()
  elseif r <= 95 then return update_vehicle()
  else return create_vehicle() end
end

local function login()
  local body = string.format('{"email":"%s","password":"%s"}', data.email, data.password)
  return wrk.format("POST", "/api/v1/auth/login", { ["Content-Type"] = "application/json" }, body)
end

local function ceiling_http()
  return wrk.format("GET", "/bench/ceiling/http")
end

local function ceiling_db()
  return wrk.format("GET", "/bench/ceiling/db/" .. pick(data.vehicles))
end

-- The application's whole middleware stack around an answer that reads nothing.
local function stack_http()
  return wrk.format("GET", "/health/live")
end

-- The same with authentication: what every API request pays before its own work.
local function auth_me()
  return get("/api/v1/auth/me")
end

local scenarios = {
  list_garages = list_garages,
  garage_vehicles_first = garage_first_page,
  garage_vehicles_deep = garage_deep_page,
  vehicle_by_id = vehicle_by_id,
  search_plate = search_plate,
  search_brand = search_brand,
  search_clients = search_clients,
  create_quote = create_quote,
  issue_invoice = issue_invoice,
  record_payment = record_payment,
  school_week = school_week,
  book_lesson = book_lesson,
  candidate_portal = candidate_portal,
  dashboard = dashboard,
  quote_pdf = quote_pdf,
  vehicle_history = vehicle_history,
  list_invoices = list_invoices,
  inbox = inbox,
  create_vehicle = create_vehicle,
  update_vehicle = update_vehicle,
  mixed = mixed,
  login = login,
  ceiling_http = ceiling_http,
  ceiling_db = ceiling_db,
  stack_http = stack_http,
  auth_me = auth_me,
}

request = scenarios[scenario]
if request == nil then
  error("unknown BENCH_SCENARIO " .. tostring(scenario))
end

function done(summary, latency, requests)
  local p = {}
  for _, q in ipairs({ 50, 75, 90, 95, 99, 99.9 }) do
    table.insert(p, string.format('"%s":%d', tostring(q), latency:percentile(q)))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"latency_us":{"min":%d,"max":%d,"mean":%.1f,"stdev":%.1f,"percentiles":{%s}}}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.max, latency.mean, latency.stdev, table.concat(p, ",")))
end
