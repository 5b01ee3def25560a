// The HTTP part of a profile-guided build's training (benchmarks/pgo/train.sh; plain Node 20,
// no packages): the interactions benchmarks/http measures, and a few more, against a running
// fhirbridge whose key is already posted.
//   node http_workload.mjs BASE_URL AUTH LOAD.ndjson CREATE.ndjson
// LOAD is posted as 100-entry transaction Bundles; then 16 clients run, each in turn:
// POST Patient (from CREATE), GET Patient/{id}, GET Patient/{client id},
// GET Patient?name=&_count=10, GET Observation?code=&_count=10, GET Observation/{id},
// a 2-entry transaction, PUT Patient/{id}, and a request that fails (an unknown id).
import { readFileSync } from 'node:fs';

const [base, auth, loadFile, createFile] = process.argv.slice(2);
if (!createFile) {
  console.error('usage: node http_workload.mjs BASE_URL AUTH LOAD.ndjson CREATE.ndjson');
  process.exit(2);
}
const headers = { 'Content-Type': 'application/fhir+json', Accept: 'application/fhir+json', Authorization: auth };
const lines = (file) => readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));

async function call(method, path, body, expect) {
  const res = await fetch(base + path, { method, headers, body: body && JSON.stringify(body) });
  const text = await res.text();
  if (expect ? res.status !== expect : !res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

const bundle = (entries) => ({
  resourceType: 'Bundle',
  type: 'transaction',
  entry: entries.map((r) => ({ fullUrl: `urn:uuid:${crypto.randomUUID()}`, resource: r, request: { method: 'POST', url: r.resourceType } })),
});

// A patient's observations refer to it by its FHIR id; in a Bundle, by the patient's fullUrl.
function transactions(resources, size) {
  const out = [];
  let entries = [];
  for (const r of resources) {
    if (r.resourceType === 'Patient' && entries.length >= size) out.push(entries), (entries = []);
    entries.push(r);
  }
  if (entries.length) out.push(entries);
  return out.map((e) => {
    const b = bundle(e);
    const urls = new Map(b.entry.filter((x) => x.resource.resourceType === 'Patient').map((x) => [`Patient/${x.resource.id}`, x.fullUrl]));
    for (const x of b.entry) if (x.resource.subject && urls.has(x.resource.subject.reference)) x.resource.subject = { reference: urls.get(x.resource.subject.reference) };
    return b;
  });
}

const started = Date.now();
const loaded = lines(loadFile);
const clientIds = loaded.filter((r) => r.resourceType === 'Patient').map((r) => r.id);
for (const b of transactions(loaded, 100)) await call('POST', '', b);

const patients = (await call('GET', '/Patient?_count=200')).entry.map((e) => e.resource);
const observations = (await call('GET', '/Observation?_count=200')).entry.map((e) => e.resource);
const families = [...new Set(patients.map((p) => p.name?.[0]?.family).filter(Boolean))];
const codes = [...new Set(observations.map((o) => o.code?.coding?.[0]?.code).filter(Boolean))];
const creates = lines(createFile);
const newPatients = creates.filter((r) => r.resourceType === 'Patient');
const firstObservation = new Map();
for (const r of creates)
  if (r.resourceType === 'Observation' && !firstObservation.has(r.subject?.reference)) firstObservation.set(r.subject?.reference, r);

let requests = 0;
async function client(k) {
  for (let i = k; i < newPatients.length; i += 16) {
    const p = patients[i % patients.length];
    const { id: _drop, ...fresh } = newPatients[i];
    await call('POST', '/Patient', fresh, 201);
    await call('GET', `/Patient/${p.id}`);
    await call('GET', `/Patient/${clientIds[i % clientIds.length]}`);
    await call('GET', `/Patient?name=${encodeURIComponent(families[i % families.length])}&_count=10`);
    await call('GET', `/Observation?code=${encodeURIComponent(codes[i % codes.length])}&_count=10`);
    await call('GET', `/Observation/${observations[i % observations.length].id}`);
    const obs = firstObservation.get(`Patient/${newPatients[i].id}`);
    await call('POST', '', transactions(obs ? [newPatients[i], obs] : [newPatients[i]], 2)[0]);
    await call('PUT', `/Patient/${p.id}`, { ...p, active: i % 2 === 0 });
    await call('GET', `/Patient/no-such-patient-${i}`, undefined, 404);
    requests += 9;
  }
}
await Promise.all(Array.from({ length: 16 }, (_, k) => client(k)));
console.log(`pgo training: ${requests} requests after the load, ${((Date.now() - started) / 1000).toFixed(1)} s`);
