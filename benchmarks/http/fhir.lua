-- wrk script for the HTTP benchmark (benchmarks/http/run.sh).
--   wrk ... -s fhir.lua URL -- MODE BASE_PATH AUTH [LIST_FILE]
-- MODE: read (GET BASE/Patient/{id}, ids rotating from LIST_FILE),
--       search (GET BASE/Patient?name={family}&_count=10, names from LIST_FILE),
--       search_observation (GET BASE/Observation?code=http://loinc.org|{code}&_count=10),
--       search_subject (GET BASE/Observation?subject=Patient/{id}&_count=10, a patient's
--       observations, ids rotating from LIST_FILE),
--       create (POST BASE/Patient), transaction (POST BASE, a Patient and an
--       Observation referencing it by urn:uuid).
-- AUTH: the Authorization header value, or "-" for none.
-- done() prints one machine-readable line:
--   RESULT <req/s> <p50 ms> <p99 ms> <non-2xx/3xx responses> <socket errors>

local mode, base, auth, list
local items = {}
local counter = 0

local patient_body = [[{"resourceType":"Patient","active":true,]] ..
  [["identifier":[{"system":"urn:oid:1.2.3.4.5","value":"bench-1"}],]] ..
  [["name":[{"use":"official","family":"Benchmark","given":["Wrk","Lua"]}],]] ..
  [["telecom":[{"system":"phone","value":"+32 2 555 01 01","use":"home"}],]] ..
  [["gender":"female","birthDate":"1980-04-12",]] ..
  [["address":[{"line":["1 Rue de la Loi"],"city":"Bruxelles","postalCode":"1000","country":"BE"}]}]]

local transaction_body = [[{"resourceType":"Bundle","type":"transaction","entry":[]] ..
  [[{"fullUrl":"urn:uuid:5f0d7a2e-8c3b-4f6e-9a1d-2b7c4e8f0a13","resource":]] .. patient_body ..
  [[,"request":{"method":"POST","url":"Patient"}},]] ..
  [[{"fullUrl":"urn:uuid:9c1e3b5a-7d2f-4a8e-b6c0-1f3d5e7a9b24","resource":]] ..
  [[{"resourceType":"Observation","status":"final",]] ..
  [["category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],]] ..
  [["code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}]},]] ..
  [["subject":{"reference":"urn:uuid:5f0d7a2e-8c3b-4f6e-9a1d-2b7c4e8f0a13"},]] ..
  [["effectiveDateTime":"2024-03-01T10:15:00Z",]] ..
  [["valueQuantity":{"value":72,"unit":"beats/minute","system":"http://unitsofmeasure.org","code":"/min"}},]] ..
  [["request":{"method":"POST","url":"Observation"}}]}]]

function init(args)
  mode, base, auth, list = args[1], args[2], args[3], args[4]
  if base == "/" then base = "" end
  if list then
    for line in io.lines(list) do
      if #line > 0 then items[#items + 1] = line end
    end
  end
  -- Threads start at different places in the list.
  counter = math.random(0, math.max(#items - 1, 0))
  wrk.headers["Accept"] = "application/fhir+json"
  if auth and auth ~= "-" then wrk.headers["Authorization"] = auth end
  if mode == "create" or mode == "transaction" then
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/fhir+json"
    wrk.body = mode == "create" and patient_body or transaction_body
  end
end

local function next_item()
  counter = counter + 1
  return items[(counter % #items) + 1]
end

function request()
  if mode == "read" then
    return wrk.format(nil, base .. "/Patient/" .. next_item())
  elseif mode == "read_observation" then
    return wrk.format(nil, base .. "/Observation/" .. next_item())
  elseif mode == "search" then
    return wrk.format(nil, base .. "/Patient?name=" .. next_item() .. "&_count=10")
  elseif mode == "search_observation" then
    return wrk.format(nil, base .. "/Observation?code=http://loinc.org|" .. next_item() .. "&_count=10")
  elseif mode == "search_subject" then
    return wrk.format(nil, base .. "/Observation?subject=Patient/" .. next_item() .. "&_count=10")
  elseif mode == "create" then
    return wrk.format(nil, base .. "/Patient")
  else
    return wrk.format(nil, base == "" and "/" or base)
  end
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local bad = summary.errors.status
  local socket = summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout
  io.write(string.format("RESULT %.1f %.2f %.2f %d %d\n", summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, bad, socket))
end
