// Where the app is: a screen the user can come back to, remembered between runs.

/** Screens that are not a list or a record: the follow-up tracker, the project portfolio,
 * conflicts, settings. */
export const SCREENS = ["tracker", "portfolio", "conflicts", "settings"] as const;
export type Screen = (typeof SCREENS)[number];

export type Route =
  | { view: "home" }
  | { view: "tracker" }
  | { view: "portfolio" }
  | { view: "conflicts" }
  | { view: "settings" }
  | { view: "list"; entity: string }
  | { view: "record"; entity: string; id: string };

export const HOME: Route = { view: "home" };

export function parseRoute(text: string | null, entities: readonly string[]): Route {
  if (!text) return HOME;
  try {
    const r = JSON.parse(text) as Partial<{ view: string; entity: string; id: string }>;
    const screen = SCREENS.find((s) => s === r.view);
    if (screen) return { view: screen };
    if (r.view === "list" && typeof r.entity === "string" && entities.includes(r.entity)) {
      return { view: "list", entity: r.entity };
    }
    if (
      r.view === "record" &&
      typeof r.entity === "string" &&
      typeof r.id === "string" &&
      entities.includes(r.entity)
    ) {
      return { view: "record", entity: r.entity, id: r.id };
    }
  } catch {
    // An unreadable saved view: start at home.
  }
  return HOME;
}

export function sameRoute(a: Route, b: Route): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
