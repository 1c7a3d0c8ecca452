// The countries the core knows (code and name), loaded once, for pickers and filters.

import { commands } from "./api";
import type { Country } from "../bindings";

class Countries {
  list = $state<Country[]>([]);
  private loading: Promise<void> | null = null;

  load(): Promise<void> {
    this.loading ??= commands.countries().then((l) => {
      // Member states first, as the secretariat meets them most.
      this.list = [...l.filter((c) => c.member), ...l.filter((c) => !c.member)];
    });
    return this.loading;
  }

  name(code: string): string {
    return this.list.find((c) => c.code === code)?.name ?? code;
  }
}

export const countries = new Countries();
void Promise.resolve().then(() => countries.load().catch(() => undefined));
