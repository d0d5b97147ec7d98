import { render } from "preact";
import { useErrorBoundary } from "preact/hooks";
import { App } from "./app";
import "./styles.css";

/**
 * The web console: a single page on the public API (through the typed client of lib/contract),
 * built by esbuild into the console function (scripts/deploy/esbuildPlugins.js). Preact: the views
 * are many small stateful components, Preact's hooks keep them short, and it adds ~5 kB to the
 * script (no CDN, nothing fetched from outside).
 */
/** The console, or what broke it in words: a fault in a view never leaves a blank page. */
function Console() {
  const [error, reset] = useErrorBoundary();
  if (error)
    return (
      <div class="error" role="alert">
        <p>The console hit an error it cannot show the view through: {String((error as Error).message ?? error)}</p>
        <button type="button" onClick={reset}>
          Try again
        </button>
      </div>
    );
  return <App />;
}

const root = document.getElementById("app")!;
root.textContent = ""; // the page's "Loading..." line
render(<Console />, root);
