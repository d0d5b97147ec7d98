import { render } from "preact";
import { App } from "./app";
import "./styles.css";

/**
 * The web console: a single page on the public API (through the typed client of lib/contract),
 * built by esbuild into the console function (scripts/deploy/esbuildPlugins.js). Preact: the views
 * are many small stateful components, Preact's hooks keep them short, and it adds ~5 kB to the
 * script (no CDN, nothing fetched from outside).
 */
const root = document.getElementById("app")!;
root.textContent = ""; // the page's "Loading..." line
render(<App />, root);
