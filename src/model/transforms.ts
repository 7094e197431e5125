/**
 * The value rules of `DocumentTransform.FieldTransform` (write.proto), as pure functions on
 * canonical values. `current` is the field's value before the transform (undefined if absent);
 * the result is the field's new value. Server timestamps are the commit pipeline's business.
 */
import { invalidArgument } from "../errors/index.js";
import type { Value } from "./types.js";
import { canonicalDouble, compareNumbers, doubleOf, isNaNValue, isNumberValue, valuesEquivalent } from "./values.js";

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

function toDouble(v: Value): number {
  if ("integerValue" in v) return Number(v.integerValue); // rounds to nearest, as int64→double does
  if ("doubleValue" in v) return doubleOf(v.doubleValue);
  return Number.NaN;
}

/** Throws INVALID_ARGUMENT unless `v` is an integerValue or doubleValue (increment/max/min operands). */
export function requireNumericOperand(v: Value, where: string): void {
  if (!isNumberValue(v)) {
    throw invalidArgument(
      `Invalid value at '${where}': the operand of increment, maximum and minimum must be an integer or a double.`,
    );
  }
}

/**
 * `increment`: a non-numeric or absent field becomes the operand. Two integers add as int64,
 * saturating at the int64 bounds; otherwise both are read as doubles and added per IEEE 754.
 */
export function increment(current: Value | undefined, operand: Value): Value {
  if (!isNumberValue(current)) return operand;
  if ("integerValue" in current && "integerValue" in operand) {
    const sum = BigInt(current.integerValue) + BigInt(operand.integerValue);
    const clamped = sum > INT64_MAX ? INT64_MAX : sum < INT64_MIN ? INT64_MIN : sum;
    return { integerValue: clamped.toString() };
  }
  return canonicalDouble(toDouble(current) + toDouble(operand));
}

/**
 * Shared rule of maximum/minimum (write.proto): NaN on either side wins; equivalent operands
 * (3 and 3.0, or any two zeros) keep the stored value; otherwise the winner keeps its own type.
 */
function extremum(current: Value | undefined, operand: Value, wantLarger: boolean): Value {
  if (!isNumberValue(current)) return operand;
  if (isNaNValue(current)) return current;
  if (isNaNValue(operand)) return operand;
  const c = compareNumbers(operand, current);
  if (c === 0) return current;
  return c > 0 === wantLarger ? operand : current;
}

/** `maximum`: the larger of the field and the operand (see write.proto for mixed types/zeros/NaN). */
export function maximum(current: Value | undefined, operand: Value): Value {
  return extremum(current, operand, true);
}

/** `minimum`: the smaller of the field and the operand (mirror of maximum). */
export function minimum(current: Value | undefined, operand: Value): Value {
  return extremum(current, operand, false);
}

/**
 * `appendMissingElements` (arrayUnion): a non-array or absent field starts as []; each element
 * not already present (by valuesEquivalent) is appended in order, so among equivalent inputs only
 * the first counts.
 */
export function arrayUnion(current: Value | undefined, elements: readonly Value[]): Value {
  const values = current !== undefined && "arrayValue" in current ? [...current.arrayValue.values] : [];
  for (const e of elements) {
    if (!values.some((v) => valuesEquivalent(v, e))) values.push(e);
  }
  return { arrayValue: { values } };
}

/**
 * `removeAllFromArray` (arrayRemove): a non-array or absent field becomes []; every element
 * equivalent to any input element is removed.
 */
export function arrayRemove(current: Value | undefined, elements: readonly Value[]): Value {
  if (current === undefined || !("arrayValue" in current)) return { arrayValue: { values: [] } };
  return {
    arrayValue: { values: current.arrayValue.values.filter((v) => !elements.some((e) => valuesEquivalent(v, e))) },
  };
}
