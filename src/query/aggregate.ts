/**
 * `StructuredAggregationQuery.aggregations`: decoding and evaluation.
 *
 * Rules (google/firestore/v1/query.proto, StructuredAggregationQuery):
 * - 1 to 5 aggregations; each sets exactly one of count, sum, avg.
 * - `count.upTo`, when present, must be > 0; the count stops there.
 * - Aliases must be unique and valid field names; a missing alias becomes `field_<n>`, n counting
 *   the unaliased aggregations from 1 (`COUNT_UP_TO(2)` → `field_1`, `COUNT(*)` → `field_2`).
 * - sum/avg aggregate numeric values only (null and other types are skipped). NaN gives NaN and
 *   infinities follow IEEE 754. sum is an integer when every input is one and the total fits in
 *   int64, else a double; sum of nothing is integer 0. avg is always a double, null when no
 *   input was numeric.
 */
import { invalidArgument } from "../errors/index.js";
import { fieldPathKey, getField } from "../model/field-path.js";
import type { Value } from "../model/types.js";
import { canonicalDouble, doubleOf } from "../model/values.js";
import { list, message, oneof, str } from "../validation/proto-json.js";
import { validateFieldName } from "../validation/values.js";
import { bad, decodeFieldReference } from "./decode-util.js";
import { type Aggregation, isKeyField, type NormalizedQuery, type QueryDoc } from "./types.js";

/** Firestore's limit on aggregations per request. */
export const MAX_AGGREGATIONS = 5;

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

function decodeUpTo(json: unknown, where: string): number | undefined {
  // google.protobuf.Int64Value: a number or decimal string, or `{value}` from gRPC-style clients.
  const raw =
    typeof json === "object" && json !== null && !Array.isArray(json) ? message(json, where, ["value"]).value : json;
  const text = typeof raw === "number" && Number.isInteger(raw) ? BigInt(raw).toString() : raw;
  if (typeof text !== "string" || !/^[+-]?\d+$/.test(text.trim())) {
    throw bad(where, `count.upTo must be an integer, got ${JSON.stringify(raw)}`);
  }
  const n = BigInt(text.trim());
  if (n <= 0n || n > INT64_MAX) throw bad(where, `count.upTo must be greater than 0 (and an int64), got ${n}`);
  // Beyond 2^53 no count can reach the bound, so it is the same as no bound.
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(n);
}

function decodeField(json: unknown, where: string): string[] {
  const msg = message(json, where, ["field"]);
  if (msg.field === undefined) throw bad(where, "sum and avg need a field");
  return decodeFieldReference(msg.field, `${where}.field`);
}

/**
 * Which queries can be aggregated: not vector searches, and not kindless queries (an aggregation
 * is served from an index of one collection id; Cloud Firestore refuses a kindless one).
 */
export function checkAggregatable(query: Pick<NormalizedQuery, "collectionId" | "findNearest">): void {
  if (query.collectionId === null) {
    throw invalidArgument(
      "kind is required for aggregation queries: a query without a collection id (kindless) cannot be aggregated",
    );
  }
  if (query.findNearest) throw invalidArgument("Aggregations are not supported on vector (find_nearest) queries.");
}

/** Decodes `StructuredAggregationQuery.aggregations` (the list), resolving default aliases. */
export function decodeAggregations(json: unknown, where: string): Aggregation[] {
  const raw = list(json, where);
  if (raw.length === 0 || raw.length > MAX_AGGREGATIONS) {
    throw bad(where, `an aggregation query needs 1 to ${MAX_AGGREGATIONS} aggregations, got ${raw.length}`);
  }
  const decoded = raw.map((item, i) => {
    const w = `${where}[${i}]`;
    const msg = message(item, w, ["alias", "count", "sum", "avg"]);
    const which = oneof(msg, ["count", "sum", "avg"], w);
    let alias: string | undefined;
    if (msg.alias !== undefined && msg.alias !== "") {
      alias = str(msg.alias, `${w}.alias`);
      validateFieldName(alias, `${w}.alias`);
    }
    if (which === "count") {
      const count = message(msg.count, `${w}.count`, ["upTo"]);
      const upTo = count.upTo === undefined ? undefined : decodeUpTo(count.upTo, `${w}.count.upTo`);
      return { alias, kind: "count" as const, ...(upTo === undefined ? {} : { upTo }) };
    }
    const kind = which === "sum" ? ("sum" as const) : ("avg" as const);
    return { alias, kind, field: decodeField(msg[kind], `${w}.${kind}`) };
  });
  const taken = new Set<string>();
  decoded.forEach((a, i) => {
    if (a.alias === undefined) return;
    if (taken.has(a.alias))
      throw bad(`${where}[${i}].alias`, `aggregation aliases must be unique; "${a.alias}" repeats`);
    taken.add(a.alias);
  });
  let next = 1;
  return decoded.map((a) => {
    let alias = a.alias;
    while (alias === undefined) {
      // Skipping names the client chose keeps aliases unique (the backend's choice is undocumented).
      const candidate = `field_${next++}`;
      if (!taken.has(candidate)) alias = candidate;
    }
    return { ...a, alias } as Aggregation;
  });
}

/** Running totals of one numeric field. */
class NumericTotals {
  /** Exact sum of the integer inputs. */
  ints = 0n;
  sawInt = false;
  /** Sum of the double inputs, in document order, starting from -0 (the IEEE additive identity). */
  doubles = -0;
  sawDouble = false;
  count = 0;

  add(v: Value | undefined): void {
    if (v === undefined) return;
    if ("integerValue" in v) {
      this.ints += BigInt(v.integerValue);
      this.sawInt = true;
    } else if ("doubleValue" in v) {
      this.doubles += doubleOf(v.doubleValue);
      this.sawDouble = true;
    } else return;
    this.count++;
  }

  /** The double sum of everything (integers summed exactly first, then rounded once). */
  private doubleTotal(): number {
    if (!this.sawInt) return this.doubles; // keeps -0 for a sum of only -0s
    return Number(this.ints) + this.doubles;
  }

  sum(): Value {
    if (!this.sawDouble && this.ints >= INT64_MIN && this.ints <= INT64_MAX)
      return { integerValue: this.ints.toString() };
    return canonicalDouble(this.doubleTotal());
  }

  avg(): Value {
    if (this.count === 0) return { nullValue: null };
    return canonicalDouble(this.doubleTotal() / this.count);
  }
}

/**
 * Evaluates aggregations over a query's result documents as they come (nothing is kept but the
 * totals): alias → result value. With several aggregations, only documents that have every
 * aggregated field count, for all of them (count included): Firestore serves them from one index
 * over all those fields (nodejs-firestore system test "performs aggregations on documents with
 * all aggregated fields").
 */
export class Aggregator {
  private readonly fields: string[][];
  private readonly totals = new Map<string, NumericTotals>();
  private count = 0;

  constructor(private readonly aggregations: readonly Aggregation[]) {
    this.fields = aggregatedFields(aggregations).filter((f) => !isKeyField(f)); // the key always exists
    // A document name is never a number: a sum over __name__ stays empty.
    for (const f of this.fields) this.totals.set(fieldPathKey(f), new NumericTotals());
  }

  add(doc: QueryDoc): void {
    const values = this.fields.map((f) => getField(doc.fields, f));
    if (values.some((v) => v === undefined)) return;
    this.count++;
    this.fields.forEach((f, i) => {
      this.totals.get(fieldPathKey(f))?.add(values[i]);
    });
  }

  result(): Record<string, Value> {
    const out: Record<string, Value> = {};
    for (const a of this.aggregations) {
      let v: Value;
      if (a.kind === "count")
        v = { integerValue: String(a.upTo === undefined ? this.count : Math.min(this.count, a.upTo)) };
      else {
        const t = this.totals.get(fieldPathKey(a.field)) ?? new NumericTotals();
        v = a.kind === "sum" ? t.sum() : t.avg();
      }
      // Aliases are user-chosen: define them so "__proto__" stays an ordinary key.
      Object.defineProperty(out, a.alias, { value: v, enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
}

/** Evaluates aggregations over all of a query's result documents at once. */
export function aggregate(all: readonly QueryDoc[], aggregations: readonly Aggregation[]): Record<string, Value> {
  const aggregator = new Aggregator(aggregations);
  for (const doc of all) aggregator.add(doc);
  return aggregator.result();
}

/** Distinct field paths the aggregations read (for planners that fetch only what they need). */
export function aggregatedFields(aggregations: readonly Aggregation[]): string[][] {
  const seen = new Map<string, string[]>();
  for (const a of aggregations) if (a.kind !== "count") seen.set(fieldPathKey(a.field), a.field);
  return [...seen.values()];
}
