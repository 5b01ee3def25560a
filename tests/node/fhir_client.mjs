// fhir-kit-client (a third-party FHIR client) against a real `fhirbridge serve`
// started here with a temp database and --demo; every response is validated
// against the FHIR R4 JSON schema.
// usage: node fhir_client.mjs <path to the fhirbridge binary> <shared dir>
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { Client } from 'fhir-kit-client';

const require = createRequire(import.meta.url);
const JSONSchemaValidator = require('@asymmetrik/fhir-json-schema-validator');

const [binary, sharedDir] = process.argv.slice(2);
if (!binary || !sharedDir) {
  console.error('usage: node fhir_client.mjs <fhirbridge binary> <shared dir>');
  process.exit(2);
}
const seed = (name) => JSON.parse(fs.readFileSync(path.join(sharedDir, 'fixtures/seed', name), 'utf8'));
const validator = new JSONSchemaValidator();
let failures = 0;
function check(condition, what) {
  if (condition) console.log(`ok   ${what}`);
  else {
    failures++;
    console.log(`FAIL ${what}`);
  }
}
function valid(resource, what) {
  const errors = validator.validate(resource);
  check(errors.length === 0, `${what} is valid R4${errors.length ? ': ' + JSON.stringify(errors.slice(0, 3)) : ''}`);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fhirbridge-node-'));
const server = spawn(binary, ['serve', '--db', path.join(tmp, 'db.sqlite'), '--listen', '127.0.0.1:0', '--demo',
                              '--threads', '2'], { stdio: ['ignore', 'pipe', 'inherit'] });
const killServer = () => { try { server.kill('SIGTERM'); } catch { /* already gone */ } };
process.on('exit', () => { killServer(); fs.rmSync(tmp, { recursive: true, force: true }); });

// Read the demo credentials and the URL from the server's stdout.
const banner = await new Promise((resolve, reject) => {
  let out = '';
  const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 60000);
  server.stdout.on('data', (chunk) => {
    out += chunk;
    if (/listening on (http:\/\/\S+)/.test(out)) {
      clearTimeout(timer);
      resolve(out);
    }
  });
  server.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${out}`)));
});
const field = (name) => banner.match(new RegExp(`${name}:\\s+(\\S+)`))[1];
const url = banner.match(/listening on (http:\/\/\S+)/)[1];
const [login, password, hcpId, key] = [field('login'), field('password'), field('hcp id'), field('private key')];
const authorization = `Basic ${Buffer.from(`${login}:${password}`).toString('base64')}`;

try {
  // The tutorial's keychain call, verbatim in spirit.
  const keyPutInCache = await fetch(`${url}/rest/icdx/v1/keychain/${hcpId}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: authorization },
    body: JSON.stringify({ key }),
  }).then((r) => r.json());
  check(keyPutInCache === true, 'keychain answers true');

  const client = new Client({ baseUrl: `${url}/rest/fhir/r4`, customHeaders: { Authorization: authorization } });

  const cs = await client.capabilityStatement();
  check(cs.resourceType === 'CapabilityStatement' && cs.fhirVersion === '4.0.1', 'capabilityStatement');
  check(cs.rest[0].resource.map((r) => r.type).join() === 'Patient,Observation', 'capabilityStatement lists Patient, Observation');
  // The schema package predates R4's final 4.0.1: its fhirVersion enum stops at 4.0.0.
  valid({ ...cs, fhirVersion: '4.0.0' }, 'CapabilityStatement (fhirVersion checked above)');

  const pat1 = await client.create({ resourceType: 'Patient', body: seed('patient-pat1.json') });
  check(pat1.resourceType === 'Patient' && pat1.id && pat1.id !== 'pat1', `create Patient -> ${pat1.id}`);
  check(pat1.meta?.versionId === '1', 'created Patient has meta.versionId 1');
  valid(pat1, 'created Patient');

  const read = await client.read({ resourceType: 'Patient', id: 'pat1' });
  check(read.id === pat1.id && read.name[0].family === 'Donald', 'read Patient by FHIR id');
  const readById = await client.read({ resourceType: 'Patient', id: pat1.id });
  check(readById.id === pat1.id, 'read Patient by store id');
  valid(read, 'read Patient');

  const observation = seed('observation-f001.json');
  observation.subject.reference = `Patient/${pat1.id}`;
  const obs = await client.create({ resourceType: 'Observation', body: observation });
  check(obs.subject.reference === `Patient/${pat1.id}`, 'create Observation with the patient as subject');
  valid(obs, 'created Observation');

  const found = await client.search({ resourceType: 'Patient', searchParams: { name: 'Donald' } });
  check(found.type === 'searchset' && found.total === 1 && found.entry[0].resource.id === pat1.id, 'search Patient?name=Donald');
  valid(found, 'searchset Bundle');
  const observations = await client.search({ resourceType: 'Observation', searchParams: { subject: `Patient/${pat1.id}` } });
  check(observations.total === 1, 'search Observation?subject=');
  const glucose = await client.search({ resourceType: 'Observation', searchParams: { 'code-value-quantity': 'http://loinc.org|15074-8$gt6' } });
  const notGlucose = await client.search({ resourceType: 'Observation', searchParams: { 'code-value-quantity': 'http://loinc.org|15074-8$gt7' } });
  check(glucose.total === 1 && glucose.entry[0].resource.id === obs.id && notGlucose.total === 0, 'search Observation?code-value-quantity=loinc|15074-8$gt6 (composite)');
  const summaries = await client.search({ resourceType: 'Observation', searchParams: { _summary: 'true' } });
  const summary = summaries.entry[0].resource;
  check(summary.valueQuantity && !summary.referenceRange && summary.meta.tag.some((t) => t.code === 'SUBSETTED'), 'search Observation?_summary=true keeps the summary elements');
  valid(summaries, 'searchset Bundle of summaries');

  // A transaction whose observation references its patient by urn:uuid.
  const patientUrn = 'urn:uuid:0c3a0b6e-3c1c-4d37-9d5b-5f0f8b3f3a11';
  const bundle = seed('bundle-transaction.json');
  bundle.entry[0].fullUrl = patientUrn;
  bundle.entry[0].request = { method: 'POST', url: 'Patient' };
  bundle.entry[1].resource.subject.reference = patientUrn;
  bundle.entry[1].request = { method: 'POST', url: 'Observation' };
  const tx = await client.transaction({ body: bundle });
  check(tx.type === 'transaction-response' && tx.entry.length === 2, 'transaction-response');
  check(tx.entry.every((e) => e.response.status.startsWith('201')), 'transaction entries 201');
  const pat2 = tx.entry[0].resource.id;
  check(tx.entry[1].resource.subject.reference === `Patient/${pat2}`, 'urn:uuid reference rewritten to the store id');
  valid(tx, 'transaction-response Bundle');

  // Update-as-create: a PUT to an id that names nothing creates it (HAPI's and Blaze's way).
  const upserted = await client.update({ resourceType: 'Patient', id: 'kit-new', body: { ...seed('patient-pat1.json'), id: 'kit-new' } });
  check(upserted.id && upserted.id !== 'kit-new' && upserted.meta?.versionId === '1', 'update of a new id creates it');
  const upsertedAgain = await client.update({ resourceType: 'Patient', id: 'kit-new', body: { ...seed('patient-pat1.json'), id: 'kit-new', gender: 'female' } });
  check(upsertedAgain.id === upserted.id && upsertedAgain.meta?.versionId === '2' && upsertedAgain.gender === 'female', 'the same update again is version 2');
  valid(upsertedAgain, 'updated Patient');
  // vread: the version an update replaced is kept until the resource is deleted.
  const firstVersion = await client.vread({ resourceType: 'Patient', id: upserted.id, version: '1' });
  check(firstVersion.meta.versionId === '1' && firstVersion.gender === 'male', 'vread of the version an update replaced');
  valid(firstVersion, 'vread Patient');

  // Conditional create (If-None-Exist) and conditional update (PUT Patient?criteria), as the client sends them.
  const mrn = { system: 'urn:oid:0.1.2.3.4.5.6.7', value: 'kit-654321' };
  const kitPatient = { resourceType: 'Patient', identifier: [mrn], name: [{ family: 'Kit', given: ['Conditional'] }] };
  const ifNoneExist = { headers: { 'If-None-Exist': `identifier=${mrn.system}|${mrn.value}` } };
  const made = await client.create({ resourceType: 'Patient', body: kitPatient, options: ifNoneExist });
  const madeAgain = await client.create({ resourceType: 'Patient', body: kitPatient, options: ifNoneExist });
  check(made.id && madeAgain.id === made.id && madeAgain.meta?.versionId === '1', 'conditional create finds the patient instead of creating it twice');
  const conditionallyUpdated = await client.update({
    resourceType: 'Patient',
    searchParams: { identifier: `${mrn.system}|${mrn.value}` },
    body: { ...kitPatient, gender: 'other' },
  });
  check(conditionallyUpdated.id === made.id && conditionallyUpdated.meta?.versionId === '2' && conditionallyUpdated.gender === 'other', 'conditional update of the one match');
  valid(conditionallyUpdated, 'conditionally updated Patient');

  // PATCH with a JSON Patch (a few ms later: lastUpdated has millisecond precision).
  await new Promise((resolve) => setTimeout(resolve, 5));
  const patched = await client.patch({
    resourceType: 'Patient',
    id: made.id,
    jsonPatch: [
      { op: 'test', path: '/gender', value: 'other' },
      { op: 'replace', path: '/gender', value: 'female' },
      { op: 'add', path: '/name/0/given/-', value: 'Patched' },
    ],
  });
  check(patched.id === made.id && patched.meta?.versionId === '3' && patched.gender === 'female' && patched.name[0].given.join() === 'Conditional,Patched', 'patch Patient with a JSON Patch');
  valid(patched, 'patched Patient');

  // A sync client's "what changed since": only the patch is newer than the conditional update.
  const changed = await client.search({ resourceType: 'Patient', searchParams: { _lastUpdated: `gt${conditionallyUpdated.meta.lastUpdated}` } });
  check(changed.total === 1 && changed.entry[0].resource.id === made.id, `search Patient?_lastUpdated=gt<previous version> -> ${changed.total}`);
  const sinceStart = await client.search({ resourceType: 'Patient', searchParams: { _lastUpdated: `ge${pat1.meta.lastUpdated}` } });
  check(sinceStart.total === 4, `search Patient?_lastUpdated=ge<first create> -> ${sinceStart.total}`);

  const deleted = await client.delete({ resourceType: 'Patient', id: pat2 });
  check(deleted.resourceType === 'OperationOutcome', 'delete Patient');
  const readStatus = async (id) => {
    try {
      await client.read({ resourceType: 'Patient', id });
      return 200;
    } catch (e) {
      valid(e.response?.data, 'OperationOutcome of a read after delete');
      return e.response?.status;
    }
  };
  const status = await readStatus(pat2);
  check(status === 410, `read after delete -> ${status}`);
  // Patient/$everything, as the client sends it: POST (Parameters) and GET.
  const everything = await client.operation({ name: 'everything', resourceType: 'Patient', id: pat1.id,
    input: { resourceType: 'Parameters', parameter: [{ name: '_count', valueInteger: 10 }] } });
  check(everything.type === 'searchset' && everything.entry[0].resource.id === pat1.id &&
        everything.entry.slice(1).every((e) => e.resource.resourceType === 'Observation' && e.resource.subject.reference.endsWith(pat1.id)) &&
        everything.total === everything.entry.length && everything.total >= 2, `POST Patient/$everything -> ${everything.total}`);
  valid(everything, 'Patient/$everything Bundle');
  const everythingGet = await client.operation({ name: '$everything', resourceType: 'Patient', id: pat1.id, method: 'get', input: { _type: 'Patient' } });
  check(everythingGet.total === 1 && everythingGet.entry[0].resource.resourceType === 'Patient', 'GET Patient/$everything?_type=Patient');
  // The Patient compartment: Patient/{id}/Observation, by GET and by POST _search.
  for (const postSearch of [false, true]) {
    const inCompartment = await client.compartmentSearch({ resourceType: 'Observation',
      compartment: { resourceType: 'Patient', id: pat1.id }, searchParams: { _count: 50 }, options: { postSearch } });
    check(inCompartment.type === 'searchset' && inCompartment.total >= 1 &&
          inCompartment.entry.every((e) => e.resource.subject.reference.endsWith(pat1.id)),
          `compartment search Patient/{id}/Observation (postSearch ${postSearch}) -> ${inCompartment.total}`);
    valid(inCompartment, 'compartment searchset');
  }
  // Type and system history: what changed, deletes included, newest first.
  const typeHistory = await client.typeHistory({ resourceType: 'Patient' });
  check(typeHistory.type === 'history' && typeHistory.entry.some((e) => e.request.method === 'DELETE' && e.fullUrl.endsWith(`/Patient/${pat2}`)) &&
        typeHistory.entry.some((e) => e.resource?.id === pat1.id), 'Patient/_history lists the delete and the live patient');
  valid(typeHistory, 'type history Bundle');
  const systemHistory = await client.systemHistory();
  check(systemHistory.type === 'history' && systemHistory.entry.some((e) => e.resource?.resourceType === 'Observation') &&
        systemHistory.entry.every((e, i, all) => i === 0 || all[i - 1].response.lastModified >= e.response.lastModified), '/_history, newest first');
  valid(systemHistory, 'system history Bundle');
  // Patient/$validate: a Parameters with the resource and a mode; an OperationOutcome back.
  const validateAs = (resource, mode) => client.operation({ name: 'validate', resourceType: 'Patient',
    input: { resourceType: 'Parameters', parameter: [{ name: 'resource', resource }, { name: 'mode', valueCode: mode }] } });
  const fine = await validateAs({ resourceType: 'Patient', name: [{ family: 'Duck', given: ['Daisy'] }] }, 'create');
  check(fine.resourceType === 'OperationOutcome' && fine.issue[0].severity === 'information', 'Patient/$validate of a valid Patient');
  valid(fine, 'OperationOutcome of $validate');
  const unfit = await validateAs({ resourceType: 'Patient', birthDate: '13-2013' }, 'create');
  check(unfit.issue[0].severity === 'error' && unfit.issue[0].expression[0] === 'Patient.birthDate', 'Patient/$validate of a bad birthDate');
  valid(unfit, 'OperationOutcome of a failed $validate');
  // Instance history: every kept version, newest first, or the delete of a deleted resource.
  const patchedHistory = await client.resourceHistory({ resourceType: 'Patient', id: made.id });
  check(patchedHistory.type === 'history' && patchedHistory.total === 3 && patchedHistory.entry[0].request.method === 'PUT' &&
        patchedHistory.entry.map((e) => e.resource.meta.versionId).join() === '3,2,1' &&
        patchedHistory.entry[2].request.method === 'POST', 'history of an updated Patient');
  valid(patchedHistory, 'history Bundle');
  const deletedHistory = await client.resourceHistory({ resourceType: 'Patient', id: pat2 });
  check(deletedHistory.entry?.[0]?.request?.method === 'DELETE' && !deletedHistory.entry[0].resource &&
        deletedHistory.entry[0].response.etag === 'W/"2"', `history of a deleted Patient: ${JSON.stringify(deletedHistory.entry)}`);
  valid(deletedHistory, 'history Bundle of a deleted Patient');
  // A client-assigned id is gone too once deleted by it.
  await client.delete({ resourceType: 'Patient', id: 'kit-new' });
  const byClientId = await readStatus('kit-new');
  check(byClientId === 410, `read of a client id after delete -> ${byClientId}`);

  // Conditional read over a real socket: 304 without a body.
  const notModified = await fetch(`${url}/rest/fhir/r4/Patient/${pat1.id}`, { headers: { Authorization: authorization, 'If-None-Match': 'W/"1"' } });
  check(notModified.status === 304 && (await notModified.text()) === '', `If-None-Match of the current version -> ${notModified.status}`);
  // Forgetting the key (keychain DELETE): reads need it again.
  const forgot = await fetch(`${url}/rest/icdx/v1/keychain/${hcpId}`, { method: 'DELETE', headers: { Authorization: authorization } });
  check(forgot.status === 204 && (await forgot.text()) === '', `keychain DELETE -> ${forgot.status}`);
  const keyless = await fetch(`${url}/rest/fhir/r4/Patient/${pat1.id}`, { headers: { Authorization: authorization } });
  check(keyless.status === 403, `read after the key is forgotten -> ${keyless.status}`);

  let unauthorized = 0;
  try {
    await new Client({ baseUrl: `${url}/rest/fhir/r4` }).read({ resourceType: 'Patient', id: pat1.id });
  } catch (e) {
    unauthorized = e.response?.status;
  }
  check(unauthorized === 401, 'no credentials -> 401');
} catch (e) {
  failures++;
  console.log(`FAIL unexpected error: ${e.stack}\n${JSON.stringify(e.response?.data ?? '')}`);
}

killServer();
await new Promise((resolve) => { if (server.exitCode !== null) resolve(); else server.on('exit', resolve); });
check(server.exitCode === 0, `server stopped cleanly on SIGTERM (exit ${server.exitCode})`);
console.log(failures ? `${failures} failure(s)` : 'all passed');
process.exit(failures ? 1 : 0);
