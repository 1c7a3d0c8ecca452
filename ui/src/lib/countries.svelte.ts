// The countries the core knows (code and name), loaded once, for pickers and filters.

import { call, commands } from "./api";

interface Country {
  code: string;
  name: string;
  member: boolean;
}

class Countries {
  list = $state<Country[]>([]);
  private loading: Promise<void> | null = null;

  load(): Promise<void> {
    this.loading ??= call(commands.countries()).then((l) => {
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
