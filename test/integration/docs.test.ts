import { existsSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { chromium, type Browser, type Page } from "playwright-core";
import { routes, type RouteSpec } from "../../lib/contract/routes";
import { sharedStack, type TestStack } from "../helpers/testStack";

/** Debian's chromium (scripts/ci/ensure-chromium.sh installs it; CI runs that first). */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium)
  console.warn(`SKIPPED the /docs browser tests: no Chromium at ${CHROMIUM} (install it with: bash scripts/ci/ensure-chromium.sh, or set CHROMIUM_PATH)`);

/**
 * The API mounted under /prod, as API Gateway serves a stage on its execute-api URL: the page
 * must find its assets, the document and the API relative to where it is.
 */
function stagePrefixProxy(upstreamPort: number, seen: string[]): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (!req.url?.startsWith("/prod/")) {
      res.writeHead(404).end();
      return;
    }
    const upstream = http.request(
      { host: "127.0.0.1", port: upstreamPort, path: req.url.slice("/prod".length), method: req.method, headers: req.headers },
      (reply) => {
        res.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(res);
      },
    );
    upstream.on("error", () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

(haveChromium ? describe : describe.skip)("/docs in a real headless browser (Swagger UI, no CDN)", () => {
  let stack: TestStack;
  let proxy: http.Server;
  let browser: Browser;
  let base: string;
  const seen: string[] = [];
  const outside: string[] = [];

  beforeAll(async () => {
    stack = await sharedStack("main");
    proxy = await stagePrefixProxy(Number(new URL(stack.url).port), seen);
    base = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/prod`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage", "--no-first-run"],
    });
  }, 180_000);

  afterAll(async () => {
    await opened?.then(
      (d) => d.page.close(),
      () => undefined,
    );
    await browser?.close();
    await new Promise((resolve) => proxy?.close(resolve));
  });

  /** The page both tests use, opened by the first (either runs alone too). */
  let opened: Promise<{ page: Page; errors: string[] }> | undefined;
  const docsPage = () => (opened ??= openDocs());

  async function openDocs() {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    // nothing may leave the API's origin (a CDN, the public validator, fonts...)
    await page.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith(base.replace(/\/prod$/, ""))) return route.continue();
      outside.push(url);
      return route.abort();
    });
    await page.goto(`${base}/docs`);
    await page.waitForSelector(".opblock", { timeout: 30_000 });
    return { page, errors };
  }

  it("renders every operation of the contract, loading everything from the API itself", async () => {
    const { page, errors } = await docsPage();
    const operations = await page.$$eval(".opblock-summary", (blocks) =>
      blocks.map(
        (b) => `${b.querySelector(".opblock-summary-method")?.textContent?.trim()} ${b.querySelector(".opblock-summary-path")?.getAttribute("data-path")}`,
      ),
    );
    const expected = (Object.values(routes) as RouteSpec[]).map((r) => `${r.method} /${r.path}`);
    expect(operations.sort()).toEqual(expected.sort());
    expect(await page.title()).toMatch(/^PatchCore inspection API /);
    expect(errors).toEqual([]);
    expect(outside).toEqual([]);
    expect(seen).toEqual(
      expect.arrayContaining(["GET /prod/docs", "GET /prod/docs/swagger-ui.css", "GET /prod/docs/swagger-ui-bundle.js", "GET /prod/openapi.json"]),
    );
  }, 60_000);

  it("sends a request from the page (Try it out on GET /health) to the same stage, and shows the 200", async () => {
    const { page } = await docsPage();
    const health = page.locator(".opblock-get", { has: page.locator('[data-path="/health"]') });
    await health.locator(".opblock-summary").click();
    await health.locator(".try-out__btn").click();
    await health.locator(".execute").click();
    const status = health.locator(".live-responses-table tr.response .response-col_status").first();
    await status.waitFor({ timeout: 30_000 });
    expect((await status.textContent())?.trim()).toBe("200");
    const body = await health.locator(".live-responses-table tr.response .response-col_description .highlight-code pre").first().textContent();
    expect(JSON.parse(body!)).toMatchObject({ status: "ok", device: "cpu" });
    expect(seen).toContain("GET /prod/health");
    expect(outside).toEqual([]);
  }, 60_000);
});
