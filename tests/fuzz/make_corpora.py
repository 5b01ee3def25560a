#!/usr/bin/env python3
"""Builds the seed corpora for the fuzz targets from ../shared (FHIR fixtures,
the tutorial's requests, the SDK's iCure entities) plus a few hand-written
edge cases. Usage: make_corpora.py <shared_dir> <out_dir>"""
import base64
import json, pathlib, sys

shared, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
AUTH = "Authorization: Basic YWxpY2U6YWxpY2UtcGFzc3dvcmQ="  # alice:alice-password (fuzz_http_request)

def put(target, name, data):
    d = out / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())

fixtures = sorted((shared / "fixtures/hl7").glob("*.json")) + sorted((shared / "fixtures/seed").glob("*.json"))
by_type = {}
for f in fixtures:
    doc = json.loads(f.read_text())
    by_type.setdefault(doc.get("resourceType"), []).append((f.stem, doc))
    text = json.dumps(doc, separators=(",", ":"))
    target = {"Patient": "fhir_patient", "Observation": "fhir_observation", "Bundle": "fhir_bundle"}.get(doc.get("resourceType"))
    if target:
        put(target, f.stem, text)

vectors = json.loads((shared / "icure/sdk-test-vectors.json").read_text())
put("icure_json", "decrypted-patient", b"\x00" + json.dumps(vectors["decryptedPatient"]).encode())
put("icure_json", "decrypted-contact", b"\x01" + json.dumps(vectors["decryptedContact"]).encode())
for i, req in enumerate(vectors.get("requests", [])):
    body = req.get("body") if isinstance(req, dict) else None
    if isinstance(body, dict):
        kind = b"\x01" if "services" in body else b"\x00"
        put("icure_json", f"request-{i}", kind + json.dumps(body).encode())

queries = ["name=Chalmers", "family:exact=Chalmers&given=Peter", "birthdate=ge1974-12-25&birthdate=lt2000",
           "gender=male,female", "identifier=http://ns|12345", "_id=a,b\\,c", "_count=10&_sort=-birthdate,name",
           "_has:Observation:patient:code=http://loinc.org|29463-7", "subject:Patient.name=Peter&code=15074-8",
           "value-quantity=gt5.4|http://unitsofmeasure.org|mmol/L", "value-quantity=ap100", "date=2013-04-02T09:30:10%2B01:00",
           "_summary=count", "_elements=id,name&_total=none", "_cursor=abc", "patient=Patient/123&status=final",
           "subject:identifier=urn:oid:1|x", "name:contains=a%20b+c", "%zz=1", "a&&b==c",
           "_include=Observation:subject", "_revinclude=Observation:patient&family=x", "birthdate=nope",
           "_lastUpdated=gt2026-12-03T10:00:00.250%2B01:00&_sort=-_lastUpdated", "_lastUpdated=ne2026-12",
           "_summary=true&_include=Observation:subject", "_summary=text",
           "birthdate:missing=true&identifier:missing=false", "subject:Patient.given:missing=true&date:missing=false",
           "component-code=http://loinc.org|8480-6&value-concept:text=neg&performer:Practitioner=f005",
           "value-string:contains=flu&category:missing=true&encounter=http://x/fhir/Encounter/e1/_history/2",
           "combo-code:not=|85354-9,8462-4&_has:Observation:patient:based-on:missing=false",
           "telecom=phone|0648352638&address:contains=ville&organization:Organization=1&_count=1&_cursor=mem:1",
           "subject:Patient.email=a@b&subject:Patient.address-use:missing=true",
           "deceased=true,false&based-on:identifier=|1234&link:identifier=sys|",
           "value-date=ge2021-05-06T10:00%2B02:00&death-date=ne2020&value-date:missing=false",
           "component-code-value-quantity=http://loinc.org|8480-6$gt140,8462-4$ap90|http://unitsofmeasure.org|mm[Hg]",
           "code-value-concept=15074-8$|x&combo-code-value-quantity=$&code-value-date=a\\$b$2021,x$y",
           "combo-value-quantity=ge1e3&code-value-string=c$\\,&component-value-quantity:missing=true",
           "code:text=gluc&category:not=vital-signs,laboratory&code:not=|x",
           "birthdate=1974,lt1950,,&_lastUpdated=gt2020,ne2021-02", "date=2013,2015-06&date=ge2014"]
for i, q in enumerate(queries):
    put("query_string", f"q{i}", q)

def req(method, target, body=None, extra=""):
    head = f"{method} {target} HTTP/1.1\r\nHost: fuzz.test\r\n{AUTH}\r\n{extra}"
    if body is not None:
        head += f"Content-Type: application/fhir+json\r\nContent-Length: {len(body.encode())}\r\n"
    return head + "\r\n" + (body or "")

for stem, doc in by_type.get("Patient", [])[:3]:
    put("http_request", "post-" + stem, req("POST", "/fhir/r4/Patient", json.dumps(doc)))
for stem, doc in by_type.get("Observation", [])[:3]:
    put("http_request", "post-" + stem, req("POST", "/fhir/r4/Observation", json.dumps(doc)))
for stem, doc in by_type.get("Bundle", []):
    put("http_request", "post-" + stem, req("POST", "/fhir/r4", json.dumps(doc)))
for i, q in enumerate(queries[:8]):
    put("http_request", f"search-patient-{i}", req("GET", "/fhir/r4/Patient?" + q))
    put("http_request", f"search-obs-{i}", req("GET", "/rest/fhir/r4/Observation?" + q))
put("http_request", "search-composite",
    req("GET", "/fhir/r4/Observation?component-code-value-quantity=http://loinc.org%7C8480-6%24gt140,8462-4%24gt90"))
put("http_request", "metadata", "GET /fhir/r4/metadata HTTP/1.1\r\nHost: fuzz.test\r\n\r\n")
put("http_request", "read", req("GET", "/fhir/r4/Patient/123"))
put("http_request", "delete", req("DELETE", "/fhir/r4/Patient?name=x"))
put("http_request", "put", req("PUT", "/fhir/r4/Patient/123", '{"resourceType":"Patient","id":"123"}', "If-Match: W/\"1\"\r\n"))
put("http_request", "keychain", req("POST", "/rest/icdx/v1/keychain/@HCP@", '{"key":"@KEY@"}').replace("fhir+json", "json"))
put("http_request", "search-post", "POST /fhir/r4/Patient/_search HTTP/1.1\r\nHost: fuzz.test\r\n" + AUTH +
    "\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 12\r\n\r\nname=Chalmer")
put("http_request", "chunked", "POST /fhir/r4/Patient HTTP/1.1\r\nHost: fuzz.test\r\n" + AUTH +
    "\r\nTransfer-Encoding: chunked\r\nContent-Type: application/fhir+json\r\n\r\n1a\r\n{\"resourceType\":\"Patient\"}\r\n0\r\n\r\n")

# Conditional create / update, JSON Patch (application/json-patch+json), keychain DELETE.
put("http_request", "if-none-exist", req("POST", "/fhir/r4/Patient", '{"resourceType":"Patient"}',
                                         "If-None-Exist: identifier=urn:oid:1|x\r\n"))
put("http_request", "conditional-put", req("PUT", "/fhir/r4/Patient?identifier=urn:oid:1|x", '{"resourceType":"Patient"}'))
patch_ops = [{"op": "replace", "path": "/gender", "value": "other"}, {"op": "add", "path": "/name/0/given/-", "value": "X"},
             {"op": "test", "path": "/id", "value": "123"}, {"op": "move", "from": "/name/0", "path": "/name/-"},
             {"op": "copy", "from": "/birthDate", "path": "/x~1y"}, {"op": "remove", "path": "/telecom/0"}]
put("http_request", "patch", req("PATCH", "/fhir/r4/Patient/123", json.dumps(patch_ops)).replace("fhir+json", "json-patch+json"))
put("http_request", "conditional-patch", req("PATCH", "/fhir/r4/Patient?identifier=urn:oid:1|x", json.dumps(patch_ops)).replace("fhir+json", "json-patch+json"))
patch_bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
    {"resource": {"resourceType": "Binary", "contentType": "application/json-patch+json",
                  "data": base64.b64encode(json.dumps(patch_ops).encode()).decode()},
     "request": {"method": "PATCH", "url": "Patient?identifier=urn:oid:1|x"}},
    {"request": {"method": "GET", "url": "Patient/123", "ifNoneMatch": 'W/"1"',
                 "ifModifiedSince": "2026-12-03T10:00:00.250+01:00"}}]}
put("http_request", "patch-bundle", req("POST", "/fhir/r4", json.dumps(patch_bundle)))
put("fhir_bundle", "patch-bundle", json.dumps(patch_bundle))
put("http_request", "keychain-delete", req("DELETE", "/rest/icdx/v1/keychain/@HCP@"))
put("http_request", "history", req("GET", "/fhir/r4/Patient/pat1/_history?_since=2020-01-01&_at=2999&_count=1"))
put("http_request", "everything", req("GET", "/fhir/r4/Patient/pat1/$everything?_type=Patient,Observation&start=2013&end=2014-01&_count=1&_since=2020"))
everything_parameters = {"resourceType": "Parameters", "parameter": [
    {"name": "_count", "valueInteger": 1}, {"name": "_type", "valueCode": "Observation"},
    {"name": "start", "valueDate": "2013-04"}]}
put("http_request", "everything-post", req("POST", "/fhir/r4/Patient/pat1/$everything", json.dumps(everything_parameters)))
operations_batch = {"resourceType": "Bundle", "type": "batch", "entry": [
    {"request": {"method": "GET", "url": "Patient/pat1/_history"}},
    {"request": {"method": "GET", "url": "Patient/pat1/$everything?_count=2"}}]}
put("http_request", "operations-batch", req("POST", "/fhir/r4", json.dumps(operations_batch)))
validate_parameters = {"resourceType": "Parameters", "parameter": [
    {"name": "resource", "resource": {"resourceType": "Patient", "id": "pat1", "birthDate": "1974-12"}},
    {"name": "mode", "valueCode": "update"},
    {"name": "profile", "valueCanonical": "http://hl7.org/fhir/StructureDefinition/Patient"}]}
put("http_request", "validate", req("POST", "/fhir/r4/Patient/pat1/$validate", json.dumps(validate_parameters)))
put("http_request", "compartment", req("GET", "/fhir/r4/Patient/pat1/Observation?code=http://loinc.org|15074-8&_count=1"))
form = "date=ge2013&_sort=-date"
put("http_request", "compartment-post",
    f"POST /fhir/r4/Patient/pat1/Observation/_search HTTP/1.1\r\nHost: fuzz.test\r\n{AUTH}\r\n"
    f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(form)}\r\n\r\n{form}")
put("http_request", "vread-old", req("GET", "/fhir/r4/Patient/pat1/_history/1?_summary=true"))
put("http_request", "vread-bad", req("GET", "/fhir/r4/Observation/f001/_history/-1"))
put("http_request", "type-history", req("GET", "/fhir/r4/Patient/_history?_since=2020-01-01&_count=1"))
put("http_request", "system-history", req("GET", "/fhir/r4/_history?_count=2&_cursor=h!!12:abc!x"))
put("http_request", "validate-delete", req("POST", "/fhir/r4/Observation/f001/$validate?mode=delete", "{}"))
validate_batch = {"resourceType": "Bundle", "type": "batch", "entry": [
    {"resource": {"resourceType": "Observation", "status": "final"},
     "request": {"method": "POST", "url": "Observation/$validate?mode=create"}}]}
put("http_request", "validate-batch", req("POST", "/fhir/r4", json.dumps(validate_batch)))
# Headers answered before the body (answer_before_body): 100-continue with
# right and wrong credentials, an expectation that cannot be met (417).
patient_body = '{"resourceType":"Patient","name":[{"family":"Expect"}]}'
put("http_request", "expect-continue", req("POST", "/rest/fhir/r4/Patient", patient_body, "Expect: 100-continue\r\n"))
put("http_request", "expect-wrong-password",
    req("POST", "/rest/fhir/r4/Patient", patient_body, "Expect: 100-continue\r\n").replace(AUTH, "Authorization: Basic YWxpY2U6bm9wZQ=="))
put("http_request", "expect-unknown", req("GET", "/rest/fhir/r4/Patient?name=x", None, "Expect: 200-ok\r\n"))
for stem, doc in by_type.get("Patient", [])[:3]:
    put("json_patch", stem, json.dumps([doc, patch_ops]))
    for i, op in enumerate(patch_ops):
        put("json_patch", f"{stem}-{i}", json.dumps([doc, [op]]))

# ndjson_import: NDJSON of the fixtures (one per line), a pretty-printed Bundle,
# and the two broken shapes the reader tells apart.
resources = [doc for t in ("Patient", "Observation") for _, doc in by_type.get(t, [])]
ndjson = "".join(json.dumps(doc, separators=(",", ":")) + "\n" for doc in resources)
put("ndjson_import", "ndjson", ndjson)
put("ndjson_import", "broken-first-line", '{"resourceType":"Patient","name":[\n' + ndjson)
for stem, doc in by_type.get("Bundle", [])[:2]:
    pretty = json.dumps(doc, indent=2)
    put("ndjson_import", "pretty-" + stem, pretty)
    lines = pretty.split("\n")
    put("ndjson_import", "broken-pretty-" + stem, "\n".join(lines[:5] + ["  ,,"] + lines[5:]))
