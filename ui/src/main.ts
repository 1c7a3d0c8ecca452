import { mount } from "svelte";
import App from "./App.svelte";
import "./app.css";
import { commands } from "./lib/api";
import { whenInteractive } from "./lib/perf";

// The Latin face loads before the first paint, so no screen ever shows a system font's guess
// (it comes from the app itself, in milliseconds; if it fails to load the system's sans-serif
// takes over after a short wait). The faces of the other five scripts declare their Unicode
// ranges, so WebKit loads each only when text in that script is on screen, and keeps such text
// hidden for the moment it takes rather than drawing it in another font.
const FACES = ["Desk Sans"];

async function fontsReady(): Promise<void> {
  const loads = FACES.flatMap((f) => [
    document.fonts.load(`400 14px "${f}"`),
    document.fonts.load(`700 14px "${f}"`),
  ]);
  const giveUp = new Promise<void>((resolve) => setTimeout(resolve, 1500));
  await Promise.race([Promise.allSettled(loads).then(() => undefined), giveUp]);
}

// The shell logs when the first view is shown (start-up diagnostics; scripts/bench-app reads it).
whenInteractive((at) => {
  commands.interactive(at).catch(() => undefined);
});

// Start-up marks (performance.mark, once each): scripts/bench-app reports the time between them.
void fontsReady().then(() => {
  performance.mark("desk:fonts");
  const root = document.getElementById("root");
  if (root) mount(App, { target: root });
});
