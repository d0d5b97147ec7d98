/**
 * esbuild plugins of every function's bundle (serverless.yml custom.esbuild.plugins). "console-bundle":
 * the web console's browser script and stylesheet, built from console/ when a function imports that
 * module (only functions/console.ts does), so no other function carries them and nothing built is
 * committed. The same build runs for npm start, the tests and npm run package.
 */
const path = require("node:path");
const esbuild = require("esbuild");

const root = path.resolve(__dirname, "../..");

/** The console built for browsers: one script and one stylesheet, minified. */
async function buildConsole() {
  const result = await esbuild.build({
    entryPoints: [path.join(root, "console/main.tsx")],
    bundle: true,
    write: false,
    outdir: path.join(root, ".esbuild/console"),
    platform: "browser",
    format: "iife",
    target: ["chrome110", "firefox110", "safari16"],
    minify: true,
    jsx: "automatic",
    jsxImportSource: "preact",
    metafile: true,
    logLevel: "silent",
  });
  const js = result.outputFiles.find((f) => f.path.endsWith(".js"));
  const css = result.outputFiles.find((f) => f.path.endsWith(".css"));
  return { js: js ? js.text : "", css: css ? css.text : "", inputs: Object.keys(result.metafile.inputs).map((f) => path.resolve(root, f)) };
}

const consoleBundle = {
  name: "console-bundle",
  setup(build) {
    build.onResolve({ filter: /^console-bundle$/ }, () => ({ path: "console-bundle", namespace: "console-bundle" }));
    build.onLoad({ filter: /.*/, namespace: "console-bundle" }, async () => {
      const { js, css, inputs } = await buildConsole();
      return { contents: `export const js = ${JSON.stringify(js)};\nexport const css = ${JSON.stringify(css)};\n`, loader: "js", watchFiles: inputs };
    });
  },
};

module.exports = [consoleBundle];
module.exports.buildConsole = buildConsole;
