import { mount } from "svelte";
import App from "./App.svelte";
import "./app.css";

// The bundled fonts load before the first paint of the app, so no screen ever shows a
// placeholder or a system font's guess at Khmer or Myanmar text (they come from the app
// itself, in milliseconds; a font that fails to load falls back after a short wait).
const FACES = ["Desk Sans", "Desk Thai", "Desk Lao", "Desk Khmer", "Desk Myanmar"];

async function fontsReady(): Promise<void> {
  const loads = FACES.flatMap((f) => [
    document.fonts.load(`400 14px "${f}"`),
    document.fonts.load(`700 14px "${f}"`),
  ]);
  const giveUp = new Promise<void>((resolve) => setTimeout(resolve, 1500));
  await Promise.race([Promise.allSettled(loads).then(() => undefined), giveUp]);
}

void fontsReady().then(() => {
  const root = document.getElementById("root");
  if (root) mount(App, { target: root });
});
