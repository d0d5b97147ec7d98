/**
 * Note for numeric code: tests run inside a vm context, where every read of a global (Math,
 * Infinity, NaN) goes through the context's interceptors and costs ~50x a local read. Hot loops
 * in lib/ bind what they need at module scope (e.g. `const { sqrt } = Math`).
 *
 * Two projects: unit (pure modules, in-memory stores, real ONNX sessions) and integration (real
 * HTTP and S3). The integration project's global setup bundles the service once for the run and
 * keeps the stacks its files share (test/helpers/stackHost.ts); it runs only when an integration
 * test is selected, so `npx jest test/unit/...` starts nothing.
 * @type {import('jest').Config}
 */
const common = {
  // onnxruntime-node checks `data instanceof Float32Array` against the realm it was loaded in:
  // this environment shares the outer realm's typed arrays with the tests (onnxruntime#16622).
  testEnvironment: "<rootDir>/test/helpers/ortEnvironment.js",
  transform: {
    "^.+\\.(t|j|mj)s$": ["@swc/jest", { jsc: { parser: { syntax: "typescript" }, target: "es2022" }, module: { type: "commonjs" } }],
  },
  // @middy/* is ESM-only: transform it to CommonJS like our own code.
  transformIgnorePatterns: ["/node_modules/(?!@middy/)"],
  moduleFileExtensions: ["ts", "js", "mjs", "json"],
  testTimeout: 60_000,
  // The integration tests start servers on this machine; give a hung one time to be reported.
  openHandlesTimeout: 5_000,
};

module.exports = {
  projects: [
    { ...common, displayName: "unit", testMatch: ["<rootDir>/test/unit/**/*.test.ts"] },
    {
      ...common,
      displayName: "integration",
      testMatch: ["<rootDir>/test/integration/**/*.test.ts"],
      globalSetup: "<rootDir>/test/helpers/globalSetup.ts",
      globalTeardown: "<rootDir>/test/helpers/globalTeardown.ts",
    },
  ],
  testTimeout: 60_000,
  openHandlesTimeout: 5_000,
  // Two cores: one worker per core. The integration files spend much of their time waiting on
  // servers in other processes, so unit and integration files run side by side.
  maxWorkers: 2,
  testSequencer: "<rootDir>/test/helpers/testSequencer.js",
};
