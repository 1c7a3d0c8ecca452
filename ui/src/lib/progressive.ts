/**
 * Long lists drawn a part at a time: the first screenful with the view, the rest in steps after
 * it is painted, so a page with 600 delegates shows its first screen without waiting for the
 * last delegate to be laid out.
 */

/** The groups with their members cut so that at most `n` members are kept in all, in order
 * (a group whose members are all cut is kept empty only when it is the one being reached). */
export function firstMembers<M, G extends { members: M[] }>(groups: G[], n: number): G[] {
  const out: G[] = [];
  let left = Math.max(0, n);
  for (const g of groups) {
    if (left === 0) break;
    if (g.members.length <= left) {
      out.push(g);
      left -= g.members.length;
    } else {
      out.push({ ...g, members: g.members.slice(0, left) });
      left = 0;
    }
  }
  return out;
}

/** How many members the groups hold in all. */
export function memberCount(groups: { members: unknown[] }[]): number {
  return groups.reduce((n, g) => n + g.members.length, 0);
}
