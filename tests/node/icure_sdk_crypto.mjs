// The official iCure SDK (@icure/api 6.4.4) decrypts entities sealed by fhirbridge.
//
// Usage: node icure_sdk_crypto.mjs DIR   (DIR/world.json is written by
// tests/crypto/sdk_export_test.cpp). For each reader HCP this builds the SDK's
// own Api over a fake in-memory iCure server (fetch stub), loads the reader's
// PKCS#8 private key the way iCure apps do, and lets the SDK's IccPatientXApi /
// IccContactXApi / IccCryptoXApi decrypt: exchange keys, delegations,
// encryptionKeys, cryptedForeignKeys and encryptedSelf. No crypto is
// re-implemented here.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { webcrypto } from 'node:crypto'
import icure from '@icure/api'

const { Api, KeyStorageImpl, hex2ua } = icure

const dir = process.argv[2]
if (!dir) {
  console.error('usage: node icure_sdk_crypto.mjs DIR')
  process.exit(2)
}
const world = JSON.parse(readFileSync(join(dir, 'world.json'), 'utf8'))
const hcps = Object.fromEntries(world.hcps.map((h) => [h.id, h]))
const host = 'http://icure.invalid/rest/v1'

// What an iCure server answers to GET /hcparty/{id}/aesExchangeKeys: for every
// delegator D, D.aesExchangeKeys[pubKey][id] keyed by D's id.
function aesExchangeKeysFor(delegateId) {
  const out = {}
  for (const h of Object.values(hcps)) {
    for (const [pub, byDelegate] of Object.entries(h.aesExchangeKeys ?? {})) {
      if (byDelegate[delegateId]) (out[h.id] ??= {})[pub] = byDelegate[delegateId]
    }
  }
  return out
}

function fakeServer(user, log) {
  const json = (status, body) =>
    new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
  return async (input, init = {}) => {
    const url = new URL(typeof input === 'string' ? input : input.url)
    const path = url.pathname.replace('/rest/v1', '')
    const method = (init.method ?? 'GET').toUpperCase()
    log.push(`${method} ${path}`)
    let m
    if (method === 'GET' && path === '/user/current') return json(200, user)
    if (method === 'GET' && (m = path.match(/^\/hcparty\/([^/]+)\/aesExchangeKeys$/)))
      return json(200, aesExchangeKeysFor(decodeURIComponent(m[1])))
    if (method === 'GET' && (m = path.match(/^\/hcparty\/([^/]+)$/))) {
      const h = hcps[decodeURIComponent(m[1])]
      return h ? json(200, h) : json(404, { message: 'not found' })
    }
    // The SDK probes patients and devices as possible data owners: none here.
    return json(404, { message: `no ${method} ${path} on the fake server` })
  }
}

function memoryStorage() {
  const m = new Map()
  return {
    getItem: async (k) => m.get(k),
    setItem: async (k, v) => void m.set(k, v),
    removeItem: async (k) => void m.delete(k),
  }
}

async function checkReader({ hcpId, privateKeyHex }) {
  const user = { id: `user-${hcpId}`, login: hcpId, healthcarePartyId: hcpId }
  const log = []
  const storage = memoryStorage()
  const api = await Api(host, user.login, 'unused', webcrypto, fakeServer(user, log), true, false,
    storage, new KeyStorageImpl(storage))
  // As iCure apps do with the key a user pastes: the SDK re-derives the public
  // key and looks it up on the HCP, so this also checks our SPKI encoding.
  await api.cryptoApi.loadKeyPairsAsTextInBrowserLocalStorage(hcpId, hex2ua(privateKeyHex))

  // structuredClone: the SDK decrypts in place
  const [p] = await api.patientApi.tryDecryptOrReturnOriginal(user, [structuredClone(world.patient)], false)
  assert.equal(p.decrypted, true, `${hcpId}: the SDK could not decrypt the patient`)
  assert.equal(p.patient.note, world.expected.note, `${hcpId}: patient note`)
  assert.equal(p.patient.firstName, 'John')

  const [c] = await api.contactApi.decrypt(hcpId, [structuredClone(world.contact)])
  assert.equal(c.descr, world.expected.descr, `${hcpId}: contact descr`)
  assert.deepEqual(c.services[0].content?.en?.measureValue, world.expected.measureValue,
    `${hcpId}: service content`)

  const cfks = await api.cryptoApi.extractCryptedFKs(world.contact, hcpId)
  assert.deepEqual(cfks.extractedKeys, [world.expected.patientId], `${hcpId}: cryptedForeignKeys`)
  const sfks = await api.cryptoApi.extractDelegationsSFKs(world.patient, hcpId)
  assert.deepEqual(sfks.extractedKeys.sort(), [...world.expected.patientSecretIds].sort(),
    `${hcpId}: patient secretIds (delegations) vs contact secretForeignKeys`)
  console.log(`ok - ${hcpId}: the SDK decrypted patient note, contact descr, service content ` +
    `and foreign keys (${log.length} fake-server calls)`)
}

try {
  for (const reader of world.readers) await checkReader(reader)
  console.log(`ok - @icure/api decrypted everything fhirbridge sealed (${world.readers.length} readers)`)
} catch (e) {
  console.error('not ok -', e?.stack ?? e)
  process.exit(1)
}
