// Helpers of benchmarks/http/run.sh (plain Node 20, no packages):
//   node tool.mjs lists DATA.ndjson OUT_DIR K
//       OUT_DIR/client_ids.txt: the FHIR ids of the first K patients of DATA
//       OUT_DIR/names.txt:      up to K distinct family names (URL-encoded)
//   node tool.mjs server-ids BASE_URL AUTH K OUT_FILE
//       the ids a server gives its first K patients (GET BASE/Patient?_count=K)
//   node tool.mjs load BASE_URL AUTH DATA.ndjson BATCH
//       posts DATA as transaction Bundles of BATCH entries (a patient and its
//       observations always in the same Bundle); prints resources/s
// AUTH is an Authorization header value or "-".
import { createReadStream, writeFileSync } from 'node:fs';
import readline from 'node:readline';

function headers(auth) {
  const h = { 'Content-Type': 'application/fhir+json', Accept: 'application/fhir+json' };
  if (auth && auth !== '-') h.Authorization = auth;
  return h;
}

async function* resources(file) {
  const lines = readline.createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) if (line.trim()) yield JSON.parse(line);
}

async function lists(file, outDir, k) {
  const ids = [];
  const names = new Set();
  for await (const r of resources(file)) {
    if (r.resourceType !== 'Patient') continue;
    if (ids.length < k) ids.push(r.id);
    const family = r.name?.[0]?.family;
    if (family && names.size < k) names.add(encodeURIComponent(family));
    if (ids.length >= k && names.size >= k) break;
  }
  writeFileSync(`${outDir}/client_ids.txt`, ids.join('\n') + '\n');
  writeFileSync(`${outDir}/names.txt`, [...names].join('\n') + '\n');
}

async function serverIds(base, auth, k, out) {
  const res = await fetch(`${base}/Patient?_count=${k}`, { headers: headers(auth) });
  if (!res.ok) throw new Error(`GET ${base}/Patient: ${res.status} ${await res.text()}`);
  const bundle = await res.json();
  const ids = (bundle.entry ?? []).map((e) => e.resource.id);
  if (!ids.length) throw new Error(`no patients at ${base}`);
  writeFileSync(out, ids.join('\n') + '\n');
}

async function post(base, auth, entries) {
  const body = JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: entries });
  const res = await fetch(base, { method: 'POST', headers: { ...headers(auth), Prefer: 'return=minimal' }, body });
  if (!res.ok) throw new Error(`POST ${base}: ${res.status} ${(await res.text()).slice(0, 500)}`);
  await res.arrayBuffer();
}

async function load(base, auth, file, batch) {
  const started = Date.now();
  let entries = [];
  let count = 0;
  for await (const r of resources(file)) {
    // Flush before a patient so its observations travel with it.
    if (r.resourceType === 'Patient' && entries.length >= batch) {
      await post(base, auth, entries);
      entries = [];
    }
    entries.push({ fullUrl: `urn:uuid:${crypto.randomUUID()}`, resource: r, request: { method: 'POST', url: r.resourceType } });
    count++;
  }
  if (entries.length) await post(base, auth, entries);
  const seconds = (Date.now() - started) / 1000;
  console.log(`loaded ${count} resources in ${seconds.toFixed(1)} s (${Math.round(count / seconds)}/s)`);
}

const [command, ...args] = process.argv.slice(2);
if (command === 'lists') await lists(args[0], args[1], Number(args[2]));
else if (command === 'server-ids') await serverIds(args[0], args[1], Number(args[2]), args[3]);
else if (command === 'load') await load(args[0], args[1], args[2], Number(args[3]));
else {
  console.error('usage: node tool.mjs lists|server-ids|load ...');
  process.exit(2);
}
