// The rows of a long list, held by page. Pages come one after another by their cursor (keyset
// paging: page k can be asked for only once page k-1 has given its cursor), and only the pages
// near what is on screen keep their rows; the others keep just their cursor, so a list of
// 100,000 records holds a few thousand rows wherever it is scrolled, and scrolling back asks
// for a dropped page again by its cursor.

export class PagedRows<T> {
  private pages: (T[] | undefined)[] = [];
  /** cursors[k]: what to pass as `after` for page k (null for the first page). */
  private cursors: (string | null)[] = [null];
  private last: number | null = null;

  /**
   * @param size rows per page
   * @param keep pages kept on each side of the window on screen
   */
  constructor(
    readonly size: number,
    readonly keep = 4,
  ) {}

  /** Row `i`, if its page is held. */
  row(i: number): T | undefined {
    return this.pages[Math.floor(i / this.size)]?.[i % this.size];
  }

  /** Pages holding rows now. */
  held(): number {
    return this.pages.filter((p) => p !== undefined).length;
  }

  /**
   * The next page to ask for so that rows [start, end) can be shown, with its cursor: the first
   * missing page in that range, or, when its cursor is not known yet, the first page whose
   * cursor is. Null when nothing is missing (or the list has ended before).
   */
  want(start: number, end: number): { page: number; after: string | null } | null {
    if (end <= start) return null;
    const first = Math.floor(start / this.size);
    const lastNeeded = Math.floor((end - 1) / this.size);
    for (let k = first; k <= lastNeeded; k++) {
      if (this.last !== null && k > this.last) return null;
      if (this.pages[k] !== undefined) continue;
      let j = k;
      while (this.cursors[j] === undefined) j--;
      return { page: j, after: this.cursors[j] ?? null };
    }
    return null;
  }

  /**
   * Stores page `k` with the cursor that follows it (null: it is the last page), then drops the
   * rows of pages more than `keep` pages away from rows [start, end).
   */
  put(k: number, rows: T[], next: string | null, start: number, end: number): void {
    this.pages[k] = rows;
    if (next === null) this.last = k;
    else this.cursors[k + 1] = next;
    const lo = Math.floor(start / this.size) - this.keep;
    const hi = Math.floor(Math.max(start, end - 1) / this.size) + this.keep;
    for (let p = 0; p < this.pages.length; p++) {
      if (this.pages[p] !== undefined && (p < lo || p > hi)) this.pages[p] = undefined;
    }
  }
}
