/**
 * Applying one `Write` to a document's fields: the update/mask rules and the field transforms.
 *
 * - No mask: the write's fields replace the document.
 * - A mask (possibly empty): each masked path is set from the write's fields when present there,
 *   and deleted when absent; paths outside the mask keep their values. An empty mask changes no
 *   fields (the SDKs send it for transforms-only updates).
 * - Then `updateTransforms` apply in order, each producing one transform result.
 */
import { deleteField, getField, setField } from "./field-path.js";
import { arrayRemove, arrayUnion, increment, maximum, minimum } from "./transforms.js";
import type { Fields, FieldTransform, Value } from "./types.js";

const NULL_VALUE: Value = { nullValue: null };

/**
 * Deep copy of a fields map: new maps, arrays and value objects, so the copy can be changed
 * freely, while strings (immutable) are shared. (structuredClone would copy every string too: a
 * 10 MiB commit would hold its strings twice.)
 */
export function cloneFields(fields: Fields): Fields {
  const out: Fields = {};
  for (const name of Object.keys(fields)) {
    // Field names are user data: define them so "__proto__" stays an ordinary key.
    Object.defineProperty(out, name, {
      value: cloneValue(fields[name] as Value),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** Deep copy of a value, sharing its strings (see `cloneFields`). */
export function cloneValue(v: Value): Value {
  if ("mapValue" in v) return { mapValue: { fields: cloneFields(v.mapValue.fields) } };
  if ("arrayValue" in v) return { arrayValue: { values: v.arrayValue.values.map(cloneValue) } };
  if ("geoPointValue" in v) return { geoPointValue: { ...v.geoPointValue } };
  return { ...v };
}

/**
 * Computes the fields after an update write. `current` is null when the document does not exist.
 * `requestTime` is the commit time as a canonical timestamp (REQUEST_TIME is one time per commit).
 */
export function applyUpdate(
  current: Fields | null,
  write: { fields: Fields; mask?: readonly (readonly string[])[]; transforms: readonly FieldTransform[] },
  requestTime: string,
): { fields: Fields; transformResults: Value[] } {
  let fields: Fields;
  if (write.mask === undefined) {
    fields = cloneFields(write.fields);
  } else {
    fields = current ? cloneFields(current) : {};
    for (const path of write.mask) {
      const value = getField(write.fields, path);
      if (value === undefined) deleteField(fields, path);
      else setField(fields, path, cloneValue(value));
    }
  }
  const transformResults = write.transforms.map((t) => applyTransform(fields, t, requestTime));
  return { fields, transformResults };
}

function applyTransform(fields: Fields, t: FieldTransform, requestTime: string): Value {
  const current = getField(fields, t.field);
  switch (t.kind) {
    case "serverTimestamp": {
      const value: Value = { timestampValue: requestTime };
      setField(fields, t.field, value);
      return value;
    }
    case "increment":
    case "maximum":
    case "minimum": {
      const op = t.kind === "increment" ? increment : t.kind === "maximum" ? maximum : minimum;
      const value = op(current, t.operand);
      setField(fields, t.field, value);
      return value;
    }
    case "appendMissingElements":
      setField(fields, t.field, arrayUnion(current, t.elements));
      return NULL_VALUE;
    case "removeAllFromArray":
      setField(fields, t.field, arrayRemove(current, t.elements));
      return NULL_VALUE;
  }
}
