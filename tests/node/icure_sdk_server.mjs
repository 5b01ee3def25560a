// The OFFICIAL iCure SDK (@icure/api 6.4.4) as a client of `fhirbridge serve`'s
// iCure REST subset (/rest/v1): it logs in with Basic auth, loads the private
// key, creates a patient and a contact (with a service), lists and decrypts
// them; and it reads and decrypts a Patient and an Observation created
// through our FHIR API. No crypto is re-implemented here: the SDK seals and
// unseals, our server stores what it sends.
//
// usage: node icure_sdk_server.mjs <path to the fhirbridge binary> <shared dir>
import assert from 'node:assert/strict'
import { spawn, execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { webcrypto, randomUUID } from 'node:crypto'
import icure from '@icure/api'

const { Api, KeyStorageImpl, hex2ua } = icure
const [binary, sharedDir] = process.argv.slice(2)
if (!binary || !sharedDir) {
  console.error('usage: node icure_sdk_server.mjs <fhirbridge binary> <shared dir>')
  process.exit(2)
}
const seed = (name) => JSON.parse(fs.readFileSync(path.join(sharedDir, 'fixtures/seed', name), 'utf8'))

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fhirbridge-icure-sdk-'))
const db = path.join(tmp, 'db.sqlite')
let server
process.on('exit', () => {
  try { server?.kill('SIGTERM') } catch { /* gone */ }
  fs.rmSync(tmp, { recursive: true, force: true })
})

// `fhirbridge user add` prints the ids and the private key (once).
function addUser(login, password) {
  const passwordFile = path.join(tmp, `${login}.pw`)
  fs.writeFileSync(passwordFile, password + '\n')
  const out = execFileSync(binary, ['user', 'add', '--login', login, '--password-file', passwordFile, '--db', db],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  const field = (name) => out.match(new RegExp(`^${name} (\\S+)$`, 'm'))[1]
  return { login, password, userId: field('user'), hcpId: field('healthcare-party'), key: field('private-key') }
}

const doc1 = addUser('doc1', 'secret-one')
const doc2 = addUser('doc2', 'secret-two')

server = spawn(binary, ['serve', '--db', db, '--listen', '127.0.0.1:0', '--threads', '2'],
  { stdio: ['ignore', 'pipe', 'inherit'] })
const url = await new Promise((resolve, reject) => {
  let out = ''
  const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 60000)
  server.stdout.on('data', (chunk) => {
    out += chunk
    const m = out.match(/listening on (http:\/\/\S+)/)
    if (m) { clearTimeout(timer); resolve(m[1]) }
  })
  server.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${out}`)))
})

const basic = (u) => `Basic ${Buffer.from(`${u.login}:${u.password}`).toString('base64')}`
async function call(u, method, route, body) {
  const res = await fetch(`${url}${route}`, {
    method,
    headers: { Authorization: basic(u), 'Content-Type': 'application/json', Accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : null }
}

// Every request the SDK makes, to report what it needed.
const seen = new Set()
const loggingFetch = (input, init = {}) => {
  const u = new URL(typeof input === 'string' ? input : input.url)
  seen.add(`${(init.method ?? 'GET').toUpperCase()} ${u.pathname.replace(/\/rest\/v1/, '')
    .replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '{id}')}`)
  return fetch(input, init)
}

function memoryStorage() {
  const m = new Map()
  return {
    getItem: async (k) => m.get(k),
    setItem: async (k, v) => void m.set(k, v),
    removeItem: async (k) => void m.delete(k),
  }
}

async function sdkFor(u) {
  const storage = memoryStorage()
  const api = await Api(`${url}/rest/v1`, u.login, u.password, webcrypto, loggingFetch, true, false,
    storage, new KeyStorageImpl(storage))
  const user = await api.userApi.getCurrentUser()
  assert.equal(user.healthcarePartyId, u.hcpId, 'GET /user/current names the healthcare party')
  assert.equal(user.passwordHash, undefined, 'GET /user/current never shows the password hash')
  await api.cryptoApi.loadKeyPairsAsTextInBrowserLocalStorage(u.hcpId, hex2ua(u.key))
  return { api, user }
}

const ok = (what) => console.log(`ok - ${what}`)

try {
  // The FHIR side decrypts with the key in the server's keychain (the
  // tutorial's call); the iCure side never needs it, but with it the server
  // also links SDK-made contacts to their patient for FHIR searches.
  const posted = await call(doc1, 'POST', `/rest/icdx/v1/keychain/${doc1.hcpId}`, { key: doc1.key })
  assert.equal(posted.status, 200, JSON.stringify(posted.body))

  const unauth = await fetch(`${url}/rest/v1/user/current`)
  assert.equal(unauth.status, 401)
  ok('401 without credentials')

  const { api, user } = await sdkFor(doc1)
  ok('SDK logged in with Basic auth and loaded the private key')

  // ---- A: the SDK creates a patient and a contact with a service ----------
  const patient = await api.patientApi.newInstance(user, {
    firstName: 'Ada', lastName: 'Lovelace', gender: 'female', dateOfBirth: 18151210, note: 'allergic to penicillin',
  })
  const created = await api.patientApi.createPatientWithUser(user, patient)
  assert.equal(created.id, patient.id, 'the client-chosen id is kept')
  assert.ok(created.rev, 'the server gives a rev')
  const raw = await call(doc1, 'GET', `/rest/v1/patient/${created.id}`)
  assert.equal(raw.status, 200)
  assert.equal(raw.body.note, undefined, 'the note is not stored in clear')
  assert.ok(raw.body.encryptedSelf, 'the note is in encryptedSelf')
  ok(`SDK created patient ${created.id} (note sealed by the SDK)`)

  const serviceId = randomUUID()
  const contact = await api.contactApi.newInstance(user, created, {
    descr: 'Routine check',
    openingDate: 20240105103000,
    services: [{
      id: serviceId, label: 'Heart rate', valueDate: 20240105103000,
      content: { en: { measureValue: { value: 72, unit: 'bpm' } } },
      codes: [{ id: 'LOINC|8867-4|1', type: 'LOINC', code: '8867-4', version: '1' }],
      tags: [{ id: 'CD-ITEM|parameter|1', type: 'CD-ITEM', code: 'parameter', version: '1' }],
    }],
  }, false)
  const createdContact = await api.contactApi.createContactWithUser(user, contact)
  assert.equal(createdContact.id, contact.id)
  const rawContact = await call(doc1, 'GET', `/rest/v1/contact/${contact.id}`)
  assert.equal(rawContact.body.descr, undefined, 'descr is sealed')
  assert.equal(rawContact.body.services[0].content, undefined, 'service content is sealed')
  ok(`SDK created contact ${contact.id} with service ${serviceId}`)

  // List and decrypt.
  const page = await api.patientApi.filterByWithUser(user,
    { filter: { $type: 'PatientByHcPartyFilter', healthcarePartyId: doc1.hcpId } })
  const listed = page.rows.find((p) => p.id === created.id)
  assert.ok(listed, 'PatientByHcPartyFilter lists the patient')
  assert.equal(listed.note, 'allergic to penicillin', 'and the SDK decrypts it')
  const fuzzy = await api.patientApi.filterByWithUser(user,
    { filter: { $type: 'PatientByHcPartyNameContainsFuzzyFilter', healthcarePartyId: doc1.hcpId, searchString: 'lovel' } })
  assert.deepEqual(fuzzy.rows.map((p) => p.id), [created.id], 'PatientByHcPartyNameContainsFuzzyFilter')
  const fetched = await api.patientApi.getPatientWithUser(user, created.id)
  assert.equal(fetched.note, 'allergic to penicillin')
  ok('SDK listed (PatientByHcPartyFilter, NameContainsFuzzy) and decrypted the patient')

  const contacts = await api.contactApi.findBy(doc1.hcpId, fetched)
  const found = contacts.find((c) => c.id === contact.id)
  assert.ok(found, 'contacts by the patient\'s secret foreign keys')
  const [decrypted] = await api.contactApi.decrypt(doc1.hcpId, [found])
  assert.equal(decrypted.descr, 'Routine check')
  assert.deepEqual(decrypted.services[0].content.en.measureValue, { value: 72, unit: 'bpm' })
  ok('SDK found the contact by secret foreign keys and decrypted descr + service content')

  const services = await api.contactApi.filterServicesBy(undefined, undefined, {
    filter: { $type: 'ServiceByHcPartyTagCodeDateFilter', healthcarePartyId: doc1.hcpId, tagType: 'CD-ITEM', tagCode: 'parameter' },
  })
  assert.deepEqual(services.rows.map((s) => s.id), [serviceId], 'ServiceByHcPartyTagCodeDateFilter')
  assert.equal(services.rows[0].contactId, contact.id)
  const [service] = await api.contactApi.decryptServices(doc1.hcpId, services.rows)
  assert.deepEqual(service.content.en.measureValue, { value: 72, unit: 'bpm' })
  ok('SDK filtered services by tag and decrypted the service')

  // What the SDK wrote, the FHIR API reads (the key is in the keychain).
  const fhirPatient = await call(doc1, 'GET', `/rest/fhir/r4/Patient/${created.id}`)
  assert.equal(fhirPatient.status, 200, JSON.stringify(fhirPatient.body))
  assert.equal(fhirPatient.body.name?.[0]?.family, 'Lovelace')
  const fhirObservation = await call(doc1, 'GET', `/rest/fhir/r4/Observation?subject=Patient/${created.id}`)
  assert.equal(fhirObservation.status, 200, JSON.stringify(fhirObservation.body))
  assert.equal(fhirObservation.body.total, 1, 'the SDK\'s service is an Observation of that patient')
  ok('the FHIR API reads the SDK\'s patient and its service as an Observation')

  // ---- B: the FHIR API creates a Patient and an Observation -------------
  const pat = await call(doc1, 'POST', '/rest/fhir/r4/Patient', seed('patient-pat1.json'))
  assert.equal(pat.status, 201, JSON.stringify(pat.body))
  const observation = seed('observation-f001.json')
  observation.subject = { reference: `Patient/${pat.body.id}` }
  const obs = await call(doc1, 'POST', '/rest/fhir/r4/Observation', observation)
  assert.equal(obs.status, 201, JSON.stringify(obs.body))

  const fhirMade = await api.patientApi.getPatientWithUser(user, pat.body.id)
  assert.equal(fhirMade.lastName ?? fhirMade.names?.[0]?.lastName, 'Donald', 'the SDK decrypts the FHIR-made patient')
  const fhirContacts = await api.contactApi.findBy(doc1.hcpId, fhirMade)
  assert.equal(fhirContacts.length, 1, 'one contact holds the FHIR-made Observation')
  const [fhirContact] = await api.contactApi.decrypt(doc1.hcpId, fhirContacts)
  // Our mapping: an Observation is a Contact (same id) holding one Service.
  assert.equal(fhirContact.id, obs.body.id, 'the Observation is that contact')
  const [fhirService] = fhirContact.services
  const measure = Object.values(fhirService.content ?? {})[0]?.measureValue
  assert.equal(measure?.value, 6.3, 'the SDK decrypts the Observation\'s value')
  ok(`SDK read and decrypted the FHIR-made Patient ${pat.body.id} and Observation ${obs.body.id}`)

  // ---- visibility: another HCP sees nothing of doc1's --------------------
  const other = await sdkFor(doc2)
  await assert.rejects(other.api.patientApi.getPatientWithUser(other.user, created.id), 'doc2 cannot get doc1\'s patient')
  const otherPage = await other.api.patientApi.filterByWithUser(other.user,
    { filter: { $type: 'PatientByHcPartyFilter', healthcarePartyId: doc2.hcpId } })
  assert.equal(otherPage.rows.length, 0)
  ok('another healthcare party sees none of it')

  console.log(`ok - the SDK called: ${[...seen].sort().join(', ')}`)
} catch (e) {
  console.error('not ok -', e?.stack ?? e)
  console.error(`SDK calls so far: ${[...seen].sort().join(', ')}`)
  process.exit(1)
}
process.exit(0)
