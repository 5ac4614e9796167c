// Independent verification of what Badges issues, with the Digital Bazaar JavaScript stack
// (@digitalbazaar/vc, data-integrity, the eddsa-rdfc-2022 and ecdsa-rdfc-2019 cryptosuites,
// vc-bitstring-status-list, did-method-key) and `jose` for VC-JWTs. Nothing here comes from our
// Python code: only the documents a verifier elsewhere would fetch are handed in.
//
// Input, one JSON object on standard input:
//   {"now": ISO date,                      the verification time (optional)
//    "documents": {url: document, ...},    JSON-LD contexts (ours, bundled), DID documents at the
//                                          https URL did:web resolves to, status list credentials
//    "items": [{"name", "form": "json" | "jwt" | "png" | "svg",
//               "data": credential object | JWT string | image as base64,
//               "status": true}]}          check credentialStatus entries (default true)
// Output, one JSON object on standard output:
//   {"results": [{"name", "form", "verified", "credential_id", "status": {purpose: bit}, "errors": [...]}]}
// The process exits 0 when it could answer for every item (verified or not), 2 on bad input.
// No network is used: a URL that is not among `documents` (or a did:key) fails to load.

import {Buffer} from 'node:buffer';
import {webcrypto} from 'node:crypto';
import zlib from 'node:zlib';

import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {cryptosuite as ecdsaRdfc2019} from '@digitalbazaar/ecdsa-rdfc-2019-cryptosuite';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import * as EcdsaMultikey from '@digitalbazaar/ecdsa-multikey';
import {driver as didKeyDriver} from '@digitalbazaar/did-method-key';
import {checkStatus as checkBitstringStatus} from '@digitalbazaar/vc-bitstring-status-list';
import {DOMParser} from '@xmldom/xmldom';
import * as jose from 'jose';

// Node 18 (Debian 12's) has WebCrypto only as node:crypto's `webcrypto`; `jose` looks for the global.
if(!globalThis.crypto) {
  globalThis.crypto = webcrypto;
}

const OB_NAMESPACE = 'https://purl.imsglobal.org/ob/v3p0';
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const JWT_ALGORITHMS = ['EdDSA', 'ES256', 'ES384'];

const didKey = didKeyDriver();
didKey.use({multibaseMultikeyHeader: 'z6Mk', fromMultibase: Ed25519Multikey.from});
didKey.use({multibaseMultikeyHeader: 'zDna', fromMultibase: EcdsaMultikey.from});
didKey.use({multibaseMultikeyHeader: 'z82L', fromMultibase: EcdsaMultikey.from});

const suite = [
  new DataIntegrityProof({cryptosuite: eddsaRdfc2022}),
  new DataIntegrityProof({cryptosuite: ecdsaRdfc2019}),
];

// --- documents ----------------------------------------------------------------------------------

// did:web:<host>[%3A<port>][:<path>...] -> https://<host>[:<port>]/<path>/did.json, or
// /.well-known/did.json without a path (W3C CCG did:web method, "Read (Resolve)").
export function didWebUrl(did) {
  const parts = did.slice('did:web:'.length).split(':').map(decodeURIComponent);
  const [host, ...path] = parts;
  return `https://${host}/${path.length ? path.join('/') : '.well-known'}/did.json`;
}

function makeDocumentLoader(documents) {
  const clone = value => structuredClone(value);
  async function resolveDid(url) {
    const [did, fragment] = url.split('#');
    let document;
    if(did.startsWith('did:key:')) {
      return didKey.get({url});
    }
    if(did.startsWith('did:web:')) {
      document = documents[didWebUrl(did)];
    }
    if(!document) {
      throw new Error(`unable to resolve ${did}: no DID document was given for it`);
    }
    if(document.id !== did) {
      throw new Error(`the DID document for ${did} names itself ${document.id}`);
    }
    if(fragment === undefined) {
      return clone(document);
    }
    const method = (document.verificationMethod || []).find(
      m => m.id === url || m.id === `#${fragment}`);
    if(!method) {
      throw new Error(`${did} has no verification method #${fragment}`);
    }
    return {'@context': document['@context'], ...clone(method)};
  }
  return async url => {
    if(typeof url === 'string' && url.startsWith('did:')) {
      return {contextUrl: null, documentUrl: url, document: await resolveDid(url)};
    }
    if(!Object.hasOwn(documents, url)) {
      throw new Error(`document loader refused to load "${url}": not given (no network)`);
    }
    return {contextUrl: null, documentUrl: url, document: clone(documents[url])};
  };
}

// --- baked images -------------------------------------------------------------------------------

// CRC-32 as PNG computes it (ISO 3309; zlib.crc32 exists only from Node 20.15 on).
const CRC_TABLE = Array.from({length: 256}, (_, n) => {
  let c = n;
  for(let k = 0; k < 8; k++) {
    c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return c >>> 0;
});

function crc32(bytes) {
  let crc = 0xffffffff;
  for(const byte of bytes) {
    crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

// The text of the PNG's `openbadgecredential` iTXt chunk (Open Badges 3.0 "Baking"), every
// chunk's CRC checked; compressed chunks are inflated.
function extractPng(bytes) {
  if(!bytes.subarray(0, 8).equals(PNG_SIGNATURE)) {
    throw new Error('not a PNG image');
  }
  const found = [];
  let offset = 8;
  for(;;) {
    if(offset + 12 > bytes.length) {
      throw new Error('the PNG ends before IEND');
    }
    const length = bytes.readUInt32BE(offset);
    const type = bytes.subarray(offset + 4, offset + 8).toString('latin1');
    const end = offset + 12 + length;
    if(end > bytes.length) {
      throw new Error(`the PNG chunk ${type} runs past the end`);
    }
    const body = bytes.subarray(offset + 8, offset + 8 + length);
    const crc = bytes.readUInt32BE(offset + 8 + length);
    if(crc32(bytes.subarray(offset + 4, offset + 8 + length)) !== crc) {
      throw new Error(`the PNG chunk ${type} has a wrong CRC`);
    }
    if(type === 'iTXt') {
      const keywordEnd = body.indexOf(0);
      if(body.subarray(0, keywordEnd).toString('latin1') === 'openbadgecredential') {
        const compressed = body[keywordEnd + 1];
        const languageEnd = body.indexOf(0, keywordEnd + 3);
        const translatedEnd = body.indexOf(0, languageEnd + 1);
        let text = body.subarray(translatedEnd + 1);
        if(compressed) {
          text = zlib.inflateSync(text);
        }
        found.push(text.toString('utf8'));
      }
    }
    if(type === 'IEND') {
      break;
    }
    offset = end;
  }
  if(found.length !== 1) {
    throw new Error(`the PNG holds ${found.length} openbadgecredential chunks, not one`);
  }
  return found[0];
}

// The `openbadges:credential` element's `verify` attribute (a VC-JWT) or its text (JSON).
function extractSvg(text) {
  const errors = [];
  const onError = (level, message) => {
    if(level !== 'warning') {
      errors.push(message);
    }
  };
  const document = new DOMParser({onError}).parseFromString(text, 'image/svg+xml');
  if(errors.length) {
    throw new Error(`not a readable SVG: ${errors.join('; ')}`);
  }
  const elements = document.getElementsByTagNameNS(OB_NAMESPACE, 'credential');
  if(elements.length !== 1) {
    throw new Error(`the SVG holds ${elements.length} openbadges:credential elements, not one`);
  }
  const element = elements[0];
  return (element.getAttribute('verify') || element.textContent || '').trim();
}

// --- verification -------------------------------------------------------------------------------

function errorMessages(error) {
  if(!error) {
    return [];
  }
  const nested = Array.isArray(error.errors) ? error.errors.flatMap(errorMessages) : [];
  const own = error.message ? [`${error.name || 'Error'}: ${error.message}`] : [];
  // jsonld.js keeps the loader's error as `details.cause`.
  const cause = errorMessages(error.cause || (error.details && error.details.cause));
  return [...own, ...nested, ...cause];
}

// The credential's BitstringStatusListEntry entries, read by vc-bitstring-status-list (which also
// verifies each list credential and that its issuer is the credential's): {verified, bits, error};
// a set bit fails.
async function checkStatusBits(credential, {documentLoader}) {
  const result = await checkBitstringStatus({credential, documentLoader, suite});
  const bits = {};
  if(!result.verified) {
    return {...result, bits};
  }
  for(const {credentialStatus, status: bit} of result.results) {
    bits[credentialStatus.statusPurpose] = bit;
  }
  const set = result.results.filter(r => r.status);
  if(set.length) {
    const purposes = set.map(r => r.credentialStatus.statusPurpose).join(', ');
    return {verified: false, bits, error: new Error(`status bit set: ${purposes}`)};
  }
  return {verified: true, bits};
}

async function verifyJsonLd(credential, {documentLoader, now, status}) {
  let statusBits = {};
  const checkStatus = async ({credential: checked}) => {
    const result = await checkStatusBits(checked, {documentLoader});
    statusBits = result.bits;
    return result;
  };
  const options = {credential, suite, documentLoader, now};
  if(status) {
    options.checkStatus = checkStatus;
  } else if(credential.credentialStatus) {
    options.checkStatus = async () => ({verified: true});
  }
  const result = await vc.verifyCredential(options);
  const errors = errorMessages(result.error);
  for(const proofResult of result.results || []) {
    if(!proofResult.verified) {
      errors.push(...errorMessages(proofResult.error));
    }
  }
  if(result.statusResult && !result.statusResult.verified) {
    errors.push(...errorMessages(result.statusResult.error));
  }
  return {verified: result.verified === true, status: statusBits, errors: [...new Set(errors)]};
}

// An Open Badges 3.0 VC-JWT: the JWS verified by `jose` with the public key the header's `kid`
// names in the issuer's DID document (converted to a JWK by the Multikey libraries), the key
// listed under `assertionMethod` and controlled by the issuer, and the registered claims in
// agreement with the credential.
async function verifyJwt(token, {documentLoader, now, status}) {
  const header = jose.decodeProtectedHeader(token);
  if(!JWT_ALGORITHMS.includes(header.alg)) {
    throw new Error(`unexpected JWT algorithm ${header.alg}`);
  }
  const unverified = jose.decodeJwt(token);
  const credential = unverified.vc || unverified;
  const issuer = typeof credential.issuer === 'object' ? credential.issuer.id : credential.issuer;
  if(!header.kid) {
    throw new Error('the JWT header has no kid');
  }
  const kid = header.kid.startsWith('#') ? `${issuer}${header.kid}` : header.kid;
  const {document: method} = await documentLoader(kid);
  if(method.controller !== issuer) {
    throw new Error(`the key ${kid} is controlled by ${method.controller}, not the issuer ${issuer}`);
  }
  const {document: controller} = await documentLoader(issuer);
  const assertion = (controller.assertionMethod || []).map(m => typeof m === 'string' ? m : m.id);
  if(!assertion.some(id => id === method.id || `${issuer}${id}` === method.id)) {
    throw new Error(`${method.id} is not an assertionMethod of ${issuer}`);
  }
  let jwk = method.publicKeyJwk;
  if(!jwk) {
    const library = method.publicKeyMultibase.startsWith('z6Mk') ? Ed25519Multikey : EcdsaMultikey;
    const keyPair = await library.from(method);
    jwk = await library.toJwk({keyPair});
  }
  const key = await jose.importJWK(jwk, header.alg);
  const {payload} = await jose.jwtVerify(token, key, {
    algorithms: JWT_ALGORITHMS, currentDate: now ? new Date(now) : undefined,
    clockTolerance: 300,
  });
  const errors = [];
  if(payload.iss !== undefined && payload.iss !== issuer) {
    errors.push(`iss ${payload.iss} is not the credential's issuer ${issuer}`);
  }
  if(payload.jti !== undefined && credential.id !== undefined && payload.jti !== credential.id) {
    errors.push(`jti ${payload.jti} is not the credential's id ${credential.id}`);
  }
  const subject = [].concat(credential.credentialSubject)[0] || {};
  if(payload.sub !== undefined && subject.id !== undefined && payload.sub !== subject.id) {
    errors.push(`sub ${payload.sub} is not the subject's id ${subject.id}`);
  }
  // OB 3.0: nbf and exp are validFrom and validUntil as NumericDates.
  for(const [claim, field] of [['nbf', 'validFrom'], ['exp', 'validUntil']]) {
    const expected = credential[field] === undefined ?
      undefined : Math.floor(Date.parse(credential[field]) / 1000);
    if(payload[claim] !== expected) {
      errors.push(`${claim} ${payload[claim]} is not the credential's ${field} ${credential[field]}`);
    }
  }
  let bits = {};
  if(status && credential.credentialStatus) {
    const result = await checkStatusBits(credential, {documentLoader});
    bits = result.bits;
    errors.push(...errorMessages(result.error));
  }
  return {verified: errors.length === 0, status: bits, errors, credential};
}

async function verifyItem(item, context) {
  let {form, data} = item;
  let credential;
  if(form === 'png' || form === 'svg') {
    const bytes = Buffer.from(data, 'base64');
    const text = form === 'png' ? extractPng(bytes) : extractSvg(bytes.toString('utf8'));
    if(/^[\w-]+\.[\w-]+\.[\w-]*$/.test(text)) {
      form = `${form}+jwt`;
      data = text;
    } else {
      form = `${form}+json`;
      data = JSON.parse(text);
    }
  }
  let outcome;
  if(form === 'jwt' || form.endsWith('+jwt')) {
    outcome = await verifyJwt(data, {...context, status: item.status !== false});
    credential = outcome.credential;
    delete outcome.credential;
  } else {
    credential = data;
    outcome = await verifyJsonLd(credential, {...context, status: item.status !== false});
  }
  return {form, credential_id: credential && credential.id, ...outcome};
}

async function main() {
  let input;
  try {
    const chunks = [];
    for await (const chunk of process.stdin) {
      chunks.push(chunk);
    }
    input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch(error) {
    process.stderr.write(`verify.mjs: cannot read the input: ${error.message}\n`);
    process.exit(2);
  }
  const documentLoader = makeDocumentLoader(input.documents || {});
  const context = {documentLoader, now: input.now};
  const results = [];
  for(const item of input.items || []) {
    try {
      results.push({name: item.name, ...await verifyItem(item, context)});
    } catch(error) {
      results.push({name: item.name, form: item.form, verified: false, status: {}, errors: errorMessages(error)});
    }
  }
  process.stdout.write(JSON.stringify({results}) + '\n');
}

await main();
