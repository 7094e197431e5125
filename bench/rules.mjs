/**
 * The security rules benchmark (section 10 of `npm run bench`, `BENCH_ONLY=rules`): gets and
 * commits over REST decided by a realistic rules file (an owner check, a `get()` lookup of a
 * membership document, validation of `request.resource.data`), against the same requests as the
 * admin (which bypasses rules), on one server in the same run.
 *
 * Closed loop, BENCH_CONCURRENCY clients for BENCH_RULES_MS per round, each on a document of its
 * own (no lock waits): a `get`, then a `patch` of two fields, in turn. Rounds alternate admin (the
 * baseline) and signed-in users, twice each. Users sign in with unsigned emulator tokens: what is
 * measured is rule evaluation, not token verification (production verifies an RS256 ID token once,
 * then remembers it for up to 5 minutes).
 */
import { performance } from "node:perf_hooks";
import { num, quantile, withServer } from "./server.mjs";

const CONCURRENCY = num("BENCH_CONCURRENCY", 8);
const ROUND_MS = num("BENCH_RULES_MS", 3000);

const RULES = `rules_version = '2';
service cloud.firestore {
  match /databases/{database}/documents {
    function signedIn() { return request.auth != null; }
    function member(team) {
      return get(/databases/$(database)/documents/teams/$(team)/members/$(request.auth.uid)).data.role in ['reader', 'writer'];
    }
    function valid(data) {
      return data.keys().hasOnly(['owner', 'title', 'n']) && data.title is string && data.title.size() <= 100
        && data.n is int && data.n >= 0;
    }
    match /teams/{team}/docs/{doc} {
      allow get: if signedIn() && (resource.data.owner == request.auth.uid || member(team));
      allow update: if signedIn() && resource.data.owner == request.auth.uid
        && request.resource.data.owner == resource.data.owner && valid(request.resource.data);
    }
  }
}`;

/** An unsigned emulator token for `uid` (what `mockUserToken` sends). */
function token(uid) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${b64({ alg: "none", typ: "JWT" })}.${b64({ sub: uid, iat: 0, exp: 3600 })}.`;
}

export async function rulesBench(build) {
  await withServer(build, "rules", (_mf, ready) => run(ready.href.replace(/\/$/, "")));
}

async function run(url) {
  const project = `bench-rules-${Date.now()}`;
  const docs = `${url}/v1/projects/${project}/databases/(default)/documents`;
  const send = async (method, path, body, auth) => {
    const res = await fetch(`${docs}/${path}`, {
      method,
      headers: { authorization: `Bearer ${auth}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 200)}`);
  };
  const fields = (uid, n) => ({
    owner: { stringValue: uid },
    title: { stringValue: `note ${n}` },
    n: { integerValue: String(n) },
  });
  console.log(
    `\n10. Security rules: gets and commits decided by rules (owner check, a get() lookup, validation) vs the admin, one server, ${CONCURRENCY} clients`,
  );
  for (let i = 0; i < CONCURRENCY; i++) {
    const uid = `u${i}`;
    await send("PATCH", `teams/t1/docs/d${i}`, { fields: fields(uid, 0) }, "owner");
    await send("PATCH", `teams/t1/members/${uid}`, { fields: { role: { stringValue: "writer" } } }, "owner");
  }
  const put = await fetch(`${url}/emulator/v1/projects/${project}:securityRules`, {
    method: "PUT",
    body: JSON.stringify({ rules: { files: [{ content: RULES }] } }),
  });
  if (!put.ok) throw new Error(`loading the rules: ${put.status} ${await put.text()}`);
  // The rules are in force: a user may not read another's document without being a member.
  const foreign = await fetch(`${docs}/teams/t2/docs/d0`, { headers: { authorization: `Bearer ${token("u1")}` } });
  if (foreign.status !== 403) throw new Error(`expected the rules to deny, got ${foreign.status}`);

  const round = async (asUser) => {
    const latencies = [];
    let ops = 0;
    const end = performance.now() + ROUND_MS;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async (_, i) => {
        const uid = `u${i}`;
        const auth = asUser ? token(uid) : "owner";
        let n = 0;
        while (performance.now() < end) {
          const t0 = performance.now();
          if (n % 2 === 0) await send("GET", `teams/t1/docs/d${i}`, undefined, auth);
          else
            await send(
              "PATCH",
              `teams/t1/docs/d${i}?updateMask.fieldPaths=title&updateMask.fieldPaths=n`,
              { fields: { title: { stringValue: `t${n}` }, n: { integerValue: String(n) } } },
              auth,
            );
          latencies.push(performance.now() - t0);
          n++;
          ops++;
        }
      }),
    );
    latencies.sort((a, b) => a - b);
    return { opsPerS: (ops * 1000) / ROUND_MS, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99) };
  };
  // Warm both (connections, the rules' first parse and evaluation).
  await round(false);
  await round(true);
  const results = { admin: [], user: [] };
  for (let i = 0; i < 2; i++) {
    results.admin.push(await round(false));
    results.user.push(await round(true));
  }
  const sum = (rs) => ({
    opsPerS: rs.reduce((a, r) => a + r.opsPerS, 0) / rs.length,
    p50: rs.reduce((a, r) => a + r.p50, 0) / rs.length,
    p99: rs.reduce((a, r) => a + r.p99, 0) / rs.length,
  });
  const admin = sum(results.admin);
  const user = sum(results.user);
  const line = (name, r) =>
    console.log(
      `   ${name.padEnd(17)} ${Math.round(r.opsPerS)} ops/s  p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms`,
    );
  line("admin (no rules)", admin);
  line("users (rules)", user);
  console.log(`   ratio users / admin: ${(user.opsPerS / admin.opsPerS).toFixed(2)} (target >= 0.8)`);
}
