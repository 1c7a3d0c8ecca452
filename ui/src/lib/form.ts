// What a form holds for each field (text, or a list of chips) and the JSON it sends to the
// core. Only conversion lives here: whether a value is valid (an e-mail, a date, a known
// country, a live reference) is the core's to decide, and its message comes back naming the
// field.

import type { JsonValue, KindSchema } from "./types";

export type FormValue = string | string[];

export function isList(kind: KindSchema): boolean {
  return kind.type === "list" || kind.type === "country_list" || kind.type === "ref_list";
}

/** The form's value for a field as the record holds it. */
export function toForm(kind: KindSchema, value: JsonValue | undefined): FormValue {
  if (isList(kind)) {
    return Array.isArray(value) ? value.map((v) => String(v)) : [];
  }
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

const NUMBER = /^-?\d+(\.\d+)?$/;

/** The JSON the core receives: an empty field is cleared (null); a number typed as text is
 *  sent as a number, anything else as typed (the core says what is wrong with it). */
export function toJson(kind: KindSchema, v: FormValue): JsonValue {
  if (Array.isArray(v)) {
    return v.map((x) => x.trim()).filter((x) => x !== "");
  }
  const text = kind.type === "long_text" ? v : v.trim();
  if (text.trim() === "") return null;
  if ((kind.type === "int" || kind.type === "real") && NUMBER.test(text)) return Number(text);
  return text;
}

function same(a: JsonValue, b: JsonValue): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export interface FieldLike {
  name: string;
  kind: KindSchema;
}

/** The fields to send: for a new record every field given a value; for an edit only the
 *  fields whose value differs from the record's (so an edit touches only what the user
 *  changed, and merges with edits made elsewhere to other fields). */
export function fieldsToSend(
  fields: readonly FieldLike[],
  values: Readonly<Record<string, FormValue>>,
  original: Readonly<Record<string, JsonValue>> | null,
): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const f of fields) {
    const v = values[f.name];
    if (v === undefined) continue;
    const json = toJson(f.kind, v);
    if (original === null) {
      const empty = json === null || (Array.isArray(json) && json.length === 0);
      if (!empty) out[f.name] = json;
    } else {
      const before = original[f.name] ?? (isList(f.kind) ? [] : null);
      if (!same(before, json)) out[f.name] = json;
    }
  }
  return out;
}

/** Chips typed or pasted as one text: separated by commas, semicolons or new lines. */
export function splitChips(text: string): string[] {
  return text
    .split(/[,;\n]/)
    .map((s) => s.trim())
    .filter((s) => s !== "");
}
