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

/** Deep copy of a fields map (canonical values are plain JSON data). */
export function cloneFields(fields: Fields): Fields {
  return structuredClone(fields);
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
      else setField(fields, path, structuredClone(value));
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
