// How stored values read on screen. Presentation only: which values are valid, and what a
// reference or a record is called, come from the core.

/** An enum value as words: "head_of_delegation" → "head of delegation". */
export function words(value: string): string {
  return value.replace(/_/g, " ");
}

/** An RFC 3339 time as a short local date and time: "2026-12-06 16:02". */
export function localTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** A count with thousands grouped: 100037 → "100,037". The same whatever locale WebKit
 * starts with (under a bare "C" locale its toLocaleString groups nothing). */
export function count(n: number): string {
  const [whole, frac] = String(n).split(".");
  const grouped = (whole ?? "").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return frac === undefined ? grouped : `${grouped}.${frac}`;
}

/** An amount in whole units with its currency: (12000000.4, "USD") → "USD 12,000,000". */
/** "1 change", "3 changes" (with thousands grouped). */
export function counted(n: number, one: string, many = `${one}s`): string {
  return `${count(n)} ${n === 1 ? one : many}`;
}

export function money(amount: number | null | undefined, currency: string | null | undefined): string {
  if (amount === null || amount === undefined || !Number.isFinite(amount)) return "—";
  return `${currency ? `${currency} ` : ""}${count(Math.round(amount))}`;
}
