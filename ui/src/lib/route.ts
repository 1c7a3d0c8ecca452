// Where the app is: a screen the user can come back to, remembered between runs.

export type Route =
  | { view: "home" }
  | { view: "list"; entity: string }
  | { view: "record"; entity: string; id: string };

export const HOME: Route = { view: "home" };

export function parseRoute(text: string | null, entities: readonly string[]): Route {
  if (!text) return HOME;
  try {
    const r = JSON.parse(text) as Partial<{ view: string; entity: string; id: string }>;
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
