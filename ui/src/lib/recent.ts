// Records opened lately, newest first, kept in the webview's local storage: the palette lists
// them before anything is typed, and ranks them first among matches.

export interface Recent {
  entity: string;
  id: string;
  title: string;
  subtitle: string;
}

export const MAX_RECENT = 30;

export function remember(list: readonly Recent[], item: Recent, max = MAX_RECENT): Recent[] {
  const rest = list.filter((r) => !(r.entity === item.entity && r.id === item.id));
  return [item, ...rest].slice(0, max);
}

export function forget(list: readonly Recent[], entity: string, id: string): Recent[] {
  return list.filter((r) => !(r.entity === entity && r.id === id));
}

/** `hits` with those opened lately first, in the order they were opened; others keep theirs. */
export function recentFirst<T extends { entity: string; id: string }>(
  hits: readonly T[],
  recent: readonly Recent[],
): T[] {
  const rank = new Map(recent.map((r, i) => [`${r.entity}/${r.id}`, i]));
  const seen = hits.filter((h) => rank.has(`${h.entity}/${h.id}`));
  const unseen = hits.filter((h) => !rank.has(`${h.entity}/${h.id}`));
  seen.sort((a, b) => (rank.get(`${a.entity}/${a.id}`) ?? 0) - (rank.get(`${b.entity}/${b.id}`) ?? 0));
  return [...seen, ...unseen];
}

export function parseRecent(text: string | null): Recent[] {
  if (!text) return [];
  try {
    const v: unknown = JSON.parse(text);
    if (!Array.isArray(v)) return [];
    return v.filter(
      (r): r is Recent =>
        typeof r === "object" &&
        r !== null &&
        typeof (r as Recent).entity === "string" &&
        typeof (r as Recent).id === "string" &&
        typeof (r as Recent).title === "string",
    ).map((r) => ({ ...r, subtitle: typeof r.subtitle === "string" ? r.subtitle : "" }));
  } catch {
    return [];
  }
}
