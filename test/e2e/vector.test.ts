/**
 * Vector search: admin `findNearest` (`structuredQuery.findNearest` on `:runQuery`) with EUCLIDEAN,
 * COSINE and DOT_PRODUCT, `distanceResultField`, `distanceThreshold`, equality pre-filters,
 * projections, sub-collections and collection groups, and its explain; plus vector values through
 * lite (equality and ordering: vectors sort after arrays, shorter first). Lite has no findNearest.
 *
 * Query vector [1, 0, 0] against (3-dimension vectors only; v5 has 2 dimensions, v6 is a plain
 * array and v7 has no embedding, so none of them can be returned):
 *
 * | id  | embedding    | color | euclidean | cosine distance   | dot product |
 * | v1  | [1, 0, 0]    | red   | 0         | 0                 | 1           |
 * | v2  | [0, 1, 0]    | blue  | √2        | 1                 | 0           |
 * | v3  | [1.5, .5, 0] | red   | √0.5      | 1 − 1.5/√2.5      | 1.5         |
 * | v4  | [2, 2, 2]    | blue  | 3         | 1 − 2/√12         | 2           |
 * | v9  | [-1, 0, 0]   | red   | 2         | 2                 | −1          |
 * | v10 | [5, 1, 0]    | green | √17       | 1 − 5/√26         | 5           |
 */
import type * as admin from "@google-cloud/firestore";
import { FieldPath, FieldValue } from "@google-cloud/firestore";
import * as lite from "firebase/firestore/lite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminClient, adminError, type LiteClient, liteClient, rejection, rest, uniqueProject } from "./clients.js";

const PROJECT = uniqueProject("vector");
const DB = `projects/${PROJECT}/databases/(default)`;
let l: LiteClient;
let a: admin.Firestore;

const VECS: Record<string, Record<string, unknown>> = {
  v1: { embedding: [1, 0, 0], color: "red" },
  v2: { embedding: [0, 1, 0], color: "blue" },
  v3: { embedding: [1.5, 0.5, 0], color: "red" },
  v4: { embedding: [2, 2, 2], color: "blue" },
  v5: { embedding: [1, 2], color: "red" },
  v9: { embedding: [-1, 0, 0], color: "red" },
  v10: { embedding: [5, 1, 0], color: "green" },
};

const EUCLIDEAN: [string, number][] = [
  ["v1", 0],
  ["v3", Math.sqrt(0.5)],
  ["v2", Math.SQRT2],
  ["v9", 2],
  ["v4", 3],
  ["v10", Math.sqrt(17)],
];
const COSINE: [string, number][] = [
  ["v1", 0],
  ["v10", 1 - 5 / Math.sqrt(26)],
  ["v3", 1 - 1.5 / Math.sqrt(2.5)],
  ["v4", 1 - 2 / Math.sqrt(12)],
  ["v2", 1],
  ["v9", 2],
];
const DOT: [string, number][] = [
  ["v10", 5],
  ["v4", 2],
  ["v3", 1.5],
  ["v1", 1],
  ["v2", 0],
  ["v9", -1],
];

beforeAll(async () => {
  l = liteClient(PROJECT);
  a = adminClient(PROJECT);
  const batch = a.batch();
  for (const [id, { embedding, color }] of Object.entries(VECS)) {
    const data = { embedding: FieldValue.vector(embedding as number[]), color };
    batch.set(a.doc(`vecs/${id}`), data);
    // The same data in two sub-collections, for sub-collection and collection-group searches.
    if (id === "v1" || id === "v4") batch.set(a.doc(`shops/s1/vecs/${id}`), data);
    if (id === "v3") batch.set(a.doc(`shops/s2/vecs/${id}`), data);
  }
  batch.set(a.doc("vecs/v6"), { embedding: [1, 0, 0], color: "red" }); // an array, not a vector
  batch.set(a.doc("vecs/v7"), { color: "red" });
  await batch.commit();
});

afterAll(async () => {
  await l.close();
  await a.terminate();
});

type Measure = "EUCLIDEAN" | "COSINE" | "DOT_PRODUCT";
const vecs = () => a.collection("vecs");

function nearest(
  q: admin.Query,
  measure: Measure,
  limit: number,
  extra: { distanceResultField?: string | admin.FieldPath; distanceThreshold?: number } = {},
): admin.VectorQuery {
  return q.findNearest({
    vectorField: "embedding",
    queryVector: FieldValue.vector([1, 0, 0]),
    limit,
    distanceMeasure: measure,
    ...extra,
  });
}

const ids = async (q: admin.VectorQuery) => (await q.get()).docs.map((d) => d.id);

describe("findNearest", () => {
  it("orders by each distance measure, nearest first, skipping non-vectors and other dimensions", async () => {
    expect(await ids(nearest(vecs(), "EUCLIDEAN", 10))).toEqual(EUCLIDEAN.map(([id]) => id));
    expect(await ids(nearest(vecs(), "COSINE", 10))).toEqual(COSINE.map(([id]) => id));
    expect(await ids(nearest(vecs(), "DOT_PRODUCT", 10))).toEqual(DOT.map(([id]) => id));
  });

  it("limit keeps the nearest", async () => {
    expect(await ids(nearest(vecs(), "EUCLIDEAN", 2))).toEqual(["v1", "v3"]);
    expect(await ids(nearest(vecs(), "COSINE", 3))).toEqual(["v1", "v10", "v3"]);
    expect(await ids(nearest(vecs(), "DOT_PRODUCT", 1))).toEqual(["v10"]);
  });

  it("distanceResultField carries the distance (top-level and nested field paths)", async () => {
    for (const [measure, expected] of [
      ["EUCLIDEAN", EUCLIDEAN],
      ["COSINE", COSINE],
      ["DOT_PRODUCT", DOT],
    ] as const) {
      const snap = await nearest(vecs(), measure, 10, { distanceResultField: "dist" }).get();
      expect(snap.docs.map((d) => d.id)).toEqual(expected.map(([id]) => id));
      snap.docs.forEach((d, i) => {
        expect(d.get("dist"), `${measure} ${d.id}`).toBeCloseTo((expected[i] as [string, number])[1], 12);
        // The rest of the document is intact.
        expect(d.get("color")).toBe(VECS[d.id]?.color);
        expect((d.get("embedding") as admin.VectorValue).toArray()).toEqual(VECS[d.id]?.embedding);
      });
    }
    const nested = await nearest(vecs(), "EUCLIDEAN", 2, { distanceResultField: new FieldPath("meta", "d") }).get();
    expect(nested.docs.map((d) => [d.id, d.get("meta.d")])).toEqual([
      ["v1", 0],
      ["v3", Math.sqrt(0.5)],
    ]);
    // The stored documents are unchanged.
    expect((await a.doc("vecs/v1").get()).get("dist")).toBeUndefined();
  });

  it("distanceThreshold: <= for EUCLIDEAN and COSINE, >= for DOT_PRODUCT", async () => {
    expect(await ids(nearest(vecs(), "EUCLIDEAN", 10, { distanceThreshold: 1.5 }))).toEqual(["v1", "v3", "v2"]);
    expect(await ids(nearest(vecs(), "EUCLIDEAN", 10, { distanceThreshold: 2 }))).toEqual(["v1", "v3", "v2", "v9"]);
    expect(await ids(nearest(vecs(), "COSINE", 10, { distanceThreshold: 0.1 }))).toEqual(["v1", "v10", "v3"]);
    expect(await ids(nearest(vecs(), "DOT_PRODUCT", 10, { distanceThreshold: 1.5 }))).toEqual(["v10", "v4", "v3"]);
    expect(await ids(nearest(vecs(), "DOT_PRODUCT", 2, { distanceThreshold: 1.5 }))).toEqual(["v10", "v4"]);
    expect(await ids(nearest(vecs(), "EUCLIDEAN", 10, { distanceThreshold: -1 }))).toEqual([]);
    const withDist = await nearest(vecs(), "COSINE", 10, { distanceThreshold: 0.1, distanceResultField: "d" }).get();
    expect(withDist.docs.map((d) => d.get("d") as number).every((d) => d <= 0.1)).toBe(true);
  });

  it("an equality pre-filter restricts the candidates", async () => {
    expect(await ids(nearest(vecs().where("color", "==", "red"), "EUCLIDEAN", 10))).toEqual(["v1", "v3", "v9"]);
    expect(await ids(nearest(vecs().where("color", "==", "red"), "DOT_PRODUCT", 2))).toEqual(["v3", "v1"]);
    expect(await ids(nearest(vecs().where("color", "in", ["blue", "green"]), "COSINE", 10))).toEqual([
      "v10",
      "v4",
      "v2",
    ]);
    expect(await ids(nearest(vecs().where("color", "==", "blue"), "EUCLIDEAN", 10, { distanceThreshold: 2 }))).toEqual([
      "v2",
    ]);
    expect(await ids(nearest(vecs().where("color", "==", "purple"), "EUCLIDEAN", 10))).toEqual([]);
  });

  it("select() with the distance field keeps only those fields", async () => {
    const snap = await nearest(vecs().select("color", "dist"), "EUCLIDEAN", 3, { distanceResultField: "dist" }).get();
    expect(snap.docs.map((d) => [d.id, d.data()])).toEqual([
      ["v1", { color: "red", dist: 0 }],
      ["v3", { color: "red", dist: Math.sqrt(0.5) }],
      ["v2", { color: "blue", dist: Math.SQRT2 }],
    ]);
  });

  it("sub-collections and collection groups", async () => {
    expect(await ids(nearest(a.collection("shops/s1/vecs"), "EUCLIDEAN", 10))).toEqual(["v1", "v4"]);
    const group = await nearest(a.collectionGroup("vecs"), "EUCLIDEAN", 4).get();
    // v1 twice (vecs/v1 and shops/s1/vecs/v1, equal distance, any order), then the two v3s.
    const paths = group.docs.map((d) => d.ref.path);
    expect(paths.slice(0, 2).sort()).toEqual(["shops/s1/vecs/v1", "vecs/v1"]);
    expect(paths.slice(2).sort()).toEqual(["shops/s2/vecs/v3", "vecs/v3"]);
  });

  it("wire: the admin request shape (numeric distanceMeasure, Int32Value limit) and a raw threshold", async () => {
    const res = await rest("POST", `${DB}/documents:runQuery`, {
      structuredQuery: {
        from: [{ collectionId: "vecs" }],
        findNearest: {
          vectorField: { fieldPath: "embedding" },
          queryVector: {
            mapValue: {
              fields: {
                __type__: { stringValue: "__vector__" },
                value: { arrayValue: { values: [{ doubleValue: 1 }, { doubleValue: 0 }, { doubleValue: 0 }] } },
              },
            },
          },
          distanceMeasure: 1,
          limit: { value: 3 },
          distanceResultField: "dist",
          distanceThreshold: 1.5,
        },
      },
    });
    expect(res.status, res.text).toBe(200);
    const items = res.json as { document?: { name: string; fields: Record<string, Record<string, unknown>> } }[];
    expect(items.map((i) => i.document?.name.split("/").pop())).toEqual(["v1", "v3", "v2"]);
    expect(items.map((i) => Object.keys(i.document?.fields.dist ?? {}))).toEqual([
      ["doubleValue"],
      ["doubleValue"],
      ["doubleValue"],
    ]);
  });
});

describe("findNearest explain", () => {
  // VectorQuery.explain exists in @google-cloud/firestore 8.7.1 but is not in its typings.
  type Explainable = {
    explain(o: { analyze: boolean }): Promise<admin.ExplainResults<admin.VectorQuerySnapshot>>;
  };
  const explain = (q: admin.VectorQuery, analyze: boolean) => (q as unknown as Explainable).explain({ analyze });

  it("plans without results (analyze:false)", async () => {
    const q = nearest(vecs(), "COSINE", 10);
    const plan = await explain(q, false);
    expect(plan.snapshot === null, "explain({analyze:false}).snapshot must be null").toBe(true);
    expect(plan.metrics.executionStats).toBeNull();
    expect(plan.metrics.planSummary.indexesUsed.length).toBeGreaterThan(0);
  });

  it("profiles with results and executionStats", async () => {
    const q = nearest(vecs(), "COSINE", 10);
    const prof = await explain(q, true);
    expect(prof.snapshot?.docs.map((d) => d.id)).toEqual(COSINE.map(([id]) => id));
    expect(prof.metrics.executionStats?.resultsReturned).toBe(COSINE.length);
    expect(prof.metrics.executionStats?.readOperations).toBeGreaterThan(0);
  });
});

describe("invalid vector queries are rejected with 400 INVALID_ARGUMENT", () => {
  function expectAdminInvalid(e: { code?: unknown; message: string }, re: RegExp): void {
    const error = adminError(e);
    expect(error).toMatchObject({ http: 400, status: "INVALID_ARGUMENT" });
    expect(error.message).toMatch(re);
  }

  it("limit above 1000 and query vectors above 2048 dimensions (the SDK lets both through)", async () => {
    expectAdminInvalid(await rejection(() => nearest(vecs(), "EUCLIDEAN", 1001).get()), /limit/i);
    const huge = Array.from({ length: 2049 }, () => 1);
    expectAdminInvalid(
      await rejection(() =>
        vecs()
          .findNearest({ vectorField: "embedding", queryVector: huge, limit: 1, distanceMeasure: "EUCLIDEAN" })
          .get(),
      ),
      /2048|dimension/i,
    );
    // 1000 and 2048 are allowed.
    expect(await ids(nearest(vecs(), "EUCLIDEAN", 1000))).toEqual(EUCLIDEAN.map(([id]) => id));
    const max = Array.from({ length: 2048 }, () => 1);
    expect(
      (
        await vecs()
          .findNearest({ vectorField: "embedding", queryVector: max, limit: 1, distanceMeasure: "EUCLIDEAN" })
          .get()
      ).size,
    ).toBe(0);
  });

  it("raw REST: missing limit, unspecified measure, a non-vector query value, cursors", async () => {
    const qv = {
      mapValue: {
        fields: {
          __type__: { stringValue: "__vector__" },
          value: { arrayValue: { values: [{ doubleValue: 1 }, { doubleValue: 0 }, { doubleValue: 0 }] } },
        },
      },
    };
    const post = async (extra: Record<string, unknown>, findNearest: Record<string, unknown>, re: RegExp) => {
      const res = await rest("POST", `${DB}/documents:runQuery`, {
        structuredQuery: {
          from: [{ collectionId: "vecs" }],
          findNearest: { vectorField: { fieldPath: "embedding" }, ...findNearest },
          ...extra,
        },
      });
      expect(res.status, res.text).toBe(400);
      const body = res.json as { error: { status: string; message: string } };
      expect(body.error.status).toBe("INVALID_ARGUMENT");
      expect(body.error.message).toMatch(re);
    };
    await post({}, { queryVector: qv, distanceMeasure: "EUCLIDEAN" }, /limit/i);
    await post({}, { queryVector: qv, limit: 3 }, /distance_?measure/i);
    await post(
      {},
      { queryVector: { arrayValue: { values: [{ doubleValue: 1 }] } }, distanceMeasure: "EUCLIDEAN", limit: 3 },
      /vector/i,
    );
    await post(
      {
        orderBy: [{ field: { fieldPath: "__name__" } }],
        startAt: { values: [{ referenceValue: `${DB}/documents/vecs/v1` }] },
      },
      { queryVector: qv, distanceMeasure: "EUCLIDEAN", limit: 3 },
      /cursor|startAt/i,
    );
  });
});

describe("vector values through lite", () => {
  it("round-trips, equality matches vectors only, and vectors order after arrays, shorter first", async () => {
    const snap = await lite.getDoc(lite.doc(l.db, "vecs/v3"));
    expect((snap.get("embedding") as lite.VectorValue).toArray()).toEqual([1.5, 0.5, 0]);
    const eq = await lite.getDocs(
      lite.query(lite.collection(l.db, "vecs"), lite.where("embedding", "==", lite.vector([1, 0, 0]))),
    );
    expect(eq.docs.map((d) => d.id)).toEqual(["v1"]);
    const arr = await lite.getDocs(lite.query(lite.collection(l.db, "vecs"), lite.where("embedding", "==", [1, 0, 0])));
    expect(arr.docs.map((d) => d.id)).toEqual(["v6"]);
    const ordered = ["v6", "v5", "v9", "v2", "v1", "v3", "v4", "v10"];
    const lo = await lite.getDocs(lite.query(lite.collection(l.db, "vecs"), lite.orderBy("embedding")));
    expect(lo.docs.map((d) => d.id)).toEqual(ordered);
    expect((await vecs().orderBy("embedding").get()).docs.map((d) => d.id)).toEqual(ordered);
    // A lite-written vector is found by the admin SDK's vector search.
    await lite.setDoc(lite.doc(l.db, "vecs/lite"), { embedding: lite.vector([1, 0.1, 0]), color: "lite" });
    try {
      expect(await ids(nearest(vecs(), "EUCLIDEAN", 2))).toEqual(["v1", "lite"]);
    } finally {
      await lite.deleteDoc(lite.doc(l.db, "vecs/lite"));
    }
  });
});
