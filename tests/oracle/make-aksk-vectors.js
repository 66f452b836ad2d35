#!/usr/bin/env node
// Signs a fixed set of requests with the vendor's AK/SK signer (AKSKSigner from
// @huaweicloud/huaweicloud-sdk-core, pinned in package-lock.json) and writes them, with the
// headers the vendor produced, as test vectors. The controller's signer tests and the
// simulator's verifier tests check against these, never against our own signer
// (docs/testing.md, "The AK/SK oracle").
//
//   node make-aksk-vectors.js            rewrites aksk-vectors.json
//   node make-aksk-vectors.js --check    exits 1 when aksk-vectors.json differs
//
// Vector fields: `path` and `query_string` are what goes on the wire (each segment, key and
// value escaped with encodeURIComponent, keys in the order given, which is not sorted);
// `query` holds the same pairs decoded; `headers` are the request headers exactly as the
// vendor returned them (with `host` and `X-Sdk-Date`), without Authorization; `body` is
// the bytes sent. `client_header_set` marks the requests whose headers are exactly the ones
// the controller signs (Content-Type: application/json, Host, X-Sdk-Date and, optionally,
// X-Project-Id).
//
// What the cases avoid, because the vendor's signer differs there from the other official
// signers or from what reaches a server: header values with surrounding spaces (it does not
// trim them; HTTP servers do), header names with '_' (its two sorts disagree on them), and
// path characters that Node's url.parse re-escapes (space, quotes, '|', ...: it would then
// escape the '%' again). The script refuses such a path rather than record a wrong vector.
'use strict';

const fs = require('fs');
const path = require('path');
const url = require('url');
const { AKSKSigner } = require('@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner');
const { BasicCredentials } = require('@huaweicloud/huaweicloud-sdk-core');

const OUT = path.join(__dirname, 'aksk-vectors.json');
const SDK_DATE = '20261128T174800Z';
const SDK_DATE_EPOCH_SECONDS = Date.UTC(2026, 10, 28, 17, 48, 0) / 1000;
const ACCESS_KEY = 'HPUAORACLEEXAMPLE001';
const SECRET_KEY = 'oracle/Secret+Key=0123456789abcdefGHIJ';
const PROJECT = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const HOST = 'modelarts.eu-de.otc.t-systems.com';
const JSON_TYPE = { 'Content-Type': 'application/json' };

const CASES = [
  {
    name: 'list with paging, the controller\'s headers',
    client_header_set: true,
    method: 'GET',
    path: `/v1/${PROJECT}/training-jobs`,
    query: [['per_page', '10'], ['page', '1']],
    headers: { ...JSON_TYPE, 'X-Project-Id': PROJECT },
  },
  {
    name: 'stop without a body, the controller\'s headers',
    client_header_set: true,
    method: 'POST',
    path: `/v1/${PROJECT}/training-jobs/10/versions/3/stop`,
    headers: { ...JSON_TYPE, 'X-Project-Id': PROJECT },
  },
  {
    name: 'version detail on host:port without X-Project-Id',
    client_header_set: true,
    method: 'GET',
    host: '127.0.0.1:8443',
    path: `/v1/${PROJECT}/training-jobs/123/versions/456`,
    headers: { ...JSON_TYPE },
  },
  {
    name: 'trailing slash kept, query keys unsorted',
    method: 'GET',
    path: `/v1/${PROJECT}/training-jobs/`,
    query: [['sortBy', 'job_name'], ['order', 'desc'], ['per_page', '5'], ['page', '2']],
    headers: { ...JSON_TYPE, 'X-Project-Id': PROJECT },
  },
  {
    name: 'path segments with characters that need escapes',
    method: 'GET',
    path: `/v1/${PROJECT}/training-jobs/a@b:c!d(e)*f+g,h;i=j$k&l~m.n_o-p/名前/é`,
    headers: { ...JSON_TYPE },
  },
  {
    name: 'empty path segment and trailing slash',
    method: 'DELETE',
    path: `/v1/${PROJECT}//training-jobs/7/`,
    headers: { ...JSON_TYPE, 'X-Project-Id': PROJECT },
  },
  {
    name: 'repeated and unsorted query keys, case kept',
    method: 'GET',
    path: `/v1/${PROJECT}/training-jobs`,
    query: [['zeta', '2'], ['alpha', 'b'], ['alpha', 'a'], ['Beta', 'x'], ['alpha', 'A'],
      ['zeta', '10']],
    headers: { ...JSON_TYPE },
  },
  {
    name: 'query keys and values needing escapes, sorted before escaping',
    method: 'GET',
    path: `/v1/${PROJECT}/training-jobs`,
    query: [['a/b', 'x y'], ['a.b', '1+1=2'], ['q', '名前 ✓'], ['empty', ''], ['tilde~', '-_.~'],
      ['sym', '!*\'();:@&=+$,/?#[]%'], ['a%b', '50%']],
    headers: { ...JSON_TYPE, 'X-Project-Id': PROJECT },
  },
  {
    name: 'POST with a JSON body and extra headers',
    method: 'POST',
    path: `/v1/${PROJECT}/training-jobs/10/versions/3/stop`,
    headers: {
      ...JSON_TYPE, 'X-Project-Id': PROJECT, 'X-Request-Id': 'req-0001',
      'X-Client-Name': 'oracle test  two spaces inside',
    },
    data: { action_type: 'terminate', note: 'ünïcode ✓', n: [1, 2, 3], nested: { ok: true } },
  },
  {
    name: 'PUT with a body, a content type with parameters and mixed-case header names',
    method: 'PUT',
    path: `/v1/${PROJECT}/training-jobs/42`,
    query: [['workspace_id', '0']],
    headers: {
      'Content-Type': 'application/json;charset=UTF-8', 'X-PROJECT-ID': PROJECT,
      accept: 'application/json', 'x-Trace-Id': 'abc-123',
    },
    data: { job_desc: 'a "quoted" / slashed \\ description' },
  },
  {
    name: 'no headers but host and date',
    method: 'GET',
    path: '/v1/',
    headers: {},
  },
];

// Node's url.parse leaves these paths alone, so the vendor escapes exactly the segment text.
function checkPathSurvivesUrlParse(p) {
  const parsed = url.parse(`https://${HOST}${p}`, true).pathname;
  if (parsed !== p) {
    throw new Error(`url.parse rewrites ${JSON.stringify(p)} to ${JSON.stringify(parsed)}; ` +
      'the vendor would escape its escapes: choose another path');
  }
}

function queryParams(pairs) {
  const out = {};
  for (const [k, v] of pairs) {
    if (!(k in out)) out[k] = v;
    else if (Array.isArray(out[k])) out[k].push(v);
    else out[k] = [out[k], v];
  }
  return out;
}

function makeVector(c) {
  checkPathSurvivesUrlParse(c.path);
  const host = c.host ?? HOST;
  const query = c.query ?? [];
  const credential = new BasicCredentials().withAk(ACCESS_KEY).withSk(SECRET_KEY);
  const request = {
    endpoint: `https://${host}${c.path}`,
    method: c.method,
    headers: { ...c.headers, 'X-Sdk-Date': SDK_DATE },
    queryParams: queryParams(query),
    data: c.data,
  };
  const signed = AKSKSigner.sign(request, credential);
  const headers = Object.entries(signed).filter(([k]) => k !== 'Authorization');
  return {
    name: c.name,
    client_header_set: c.client_header_set === true,
    method: c.method,
    host,
    path: c.path.split('/').map(encodeURIComponent).join('/'),
    query,
    query_string: query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
      .join('&'),
    headers,
    body: c.data === undefined ? '' : JSON.stringify(c.data),
    access_key: ACCESS_KEY,
    secret_key: SECRET_KEY,
    sdk_date_epoch_seconds: SDK_DATE_EPOCH_SECONDS,
    expected: { authorization: signed.Authorization, x_sdk_date: signed['X-Sdk-Date'] },
  };
}

function main() {
  const sdk = require('@huaweicloud/huaweicloud-sdk-core/package.json');
  const doc = {
    generator: 'tests/oracle/make-aksk-vectors.js',
    signer: `${sdk.name}@${sdk.version} AKSKSigner.sign`,
    vectors: CASES.map(makeVector),
  };
  const text = `${JSON.stringify(doc, null, 2)}\n`;
  if (process.argv.includes('--check')) {
    const committed = fs.existsSync(OUT) ? fs.readFileSync(OUT, 'utf8') : '';
    if (committed !== text) {
      console.error(`${OUT} differs from what the vendor's signer makes now; ` +
        'run node tests/oracle/make-aksk-vectors.js and review the diff');
      process.exit(1);
    }
    console.log(`aksk oracle: ${doc.vectors.length} vectors match ${doc.signer}`);
    return;
  }
  fs.writeFileSync(OUT, text);
  console.log(`wrote ${doc.vectors.length} vectors to ${OUT}`);
}

main();
