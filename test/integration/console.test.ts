import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { brushedMetal, encodePng, paintSpot } from "../../scripts/synthetic/images";
import { PROJECT_ROOT, sharedStack, type TestStack } from "../helpers/testStack";

/** Debian's chromium (scripts/ci/ensure-chromium.sh installs it; CI runs that first). */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium)
  console.warn(`SKIPPED the console browser test: no Chromium at ${CHROMIUM} (install it with: bash scripts/ci/ensure-chromium.sh, or set CHROMIUM_PATH)`);

/** Where the test leaves a screenshot of each view (not committed; the README shows copies of some). */
const SHOTS = path.join(PROJECT_ROOT, ".local/console-screenshots");
const W = 320;
const H = 200;

const png = async (name: string, image: ReturnType<typeof brushedMetal>) => ({ name, mimeType: "image/png", buffer: await encodePng(image) });
const rust = (seed: number, cx: number, cy: number) => paintSpot(brushedMetal(W, H, seed), cx, cy, 10);

(haveChromium ? describe : describe.skip)("the web console in a real headless browser, on the real local stack", () => {
  let stack: TestStack;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    stack = await sharedStack("main"); // CACHE_TTL_MS=0
    await mkdir(SHOTS, { recursive: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage", "--no-first-run"],
    });
    page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
    // any console error, uncaught exception or failed request fails the test
    page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
    page.on("pageerror", (e) => problems.push(`page error: ${String(e)}`));
    page.on("requestfailed", (r) => problems.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`));
    page.on("response", (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`));
    page.on("dialog", (d) => void d.accept());
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  const tab = (name: string) => page.getByRole("tab", { name }).click();
  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

  it("uploads a set, fits, inspects a defect, calibrates from the sets, runs a batch, and rolls a version back", async () => {
    await page.goto(`${stack.url}/console`);
    await page.fill("input[name=role_id]", "Console");
    await page.fill("input[name=roi_id]", "Plate");
    await page.getByRole("button", { name: "Open" }).click();
    await page.getByText("not fitted yet").waitFor();

    // datasets: six good parts and two defective ones, uploaded straight to S3 with progress
    await page.fill("input[name=mm_per_px]", "0.1");
    await page.setInputFiles("#pick-ok", await Promise.all([1, 2, 3, 4, 5, 6].map((s) => png(`good_${s}.png`, brushedMetal(W, H, s)))));
    await page.getByText("OK images (6)").waitFor({ timeout: 60_000 });
    await page.setInputFiles("#pick-ng", [await png("rust_1.png", rust(40, 80, 60)), await png("rust_2.png", rust(41, 240, 140))]);
    await page.getByText("NG images (2)").waitFor({ timeout: 60_000 });
    await page.locator("ul[aria-label='ok images'] img.thumb").first().waitFor();
    expect(await page.locator("ul[aria-label='ok images'] li").count()).toBe(6);
    await shot("datasets");

    // fit on the stored OK images
    await tab("Fit");
    await page.getByRole("button", { name: "Fit", exact: true }).click();
    const figures = page.getByRole("table", { name: "Fit figures" });
    await figures.waitFor({ timeout: 120_000 });
    expect(await figures.textContent()).toMatch(/version1 \(active\).*images6/);
    await shot("fit");

    // calibrate from the stored sets: the histogram and the counts of what the threshold passes
    await tab("Calibrate");
    await page.getByRole("button", { name: "Score the stored images and store the rule's threshold" }).click();
    await page.locator("svg.histogram").waitFor({ timeout: 120_000 });
    expect(await page.locator(".counts").textContent()).toMatch(/0 of 6 good parts flagged .* 0 of 2 defective parts passed/);
    expect(await page.getByLabel("Error rates of the stored threshold").textContent()).toMatch(
      /Good parts flagged: 0 % \(95 % interval 0 % to .*cross validation\)/,
    );
    // a threshold chosen over the histogram, stored (rule "fixed") with the rates it gives
    await page.fill("input[name=threshold]", "0.05");
    await page.locator("input[name=threshold]").press("Tab");
    await page.locator(".counts", { hasText: /At 0\.05: 0 of 6 good parts flagged/ }).waitFor({ timeout: 10_000 });
    await page.getByRole("button", { name: "Store this threshold" }).click();
    await page.getByText("Stored: threshold 0.05 for version 1.").waitFor();
    await shot("calibrate");
    // pasted scores with decimal commas are refused in words, not read as other numbers
    await page.getByText("or paste scores").click();
    await page.fill("textarea[name=ok_scores]", "0,031 0,029");
    await page.getByRole("button", { name: "Show", exact: true }).click();
    await page.getByRole("alert").filter({ hasText: "OK scores: these read as decimal commas; write decimals with a point (0.031)" }).waitFor();
    await page.getByRole("button", { name: "Dismiss the error" }).click();

    // inspect a defect: the verdict, the regions drawn, the heatmap on the model's scale
    await tab("Inspect");
    await page.setInputFiles("#inspect-file", await png("defect.png", rust(50, 160, 100)));
    await page.locator(".verdict").waitFor({ timeout: 60_000 });
    expect(await page.locator(".verdict").textContent()).toMatch(/^DEFECT: score/);
    expect(await page.locator("svg.overlay").first().locator(".region polygon").count()).toBeGreaterThan(0);
    expect(await page.locator("img.heat").evaluate((img) => (img as unknown as { complete: boolean; naturalWidth: number }).naturalWidth)).toBe(W);
    expect(await page.locator(".legend figcaption").textContent()).toMatch(/the middle is the model's threshold/);
    const before = await page.locator(".verdict").textContent();
    await shot("inspect");

    // a batch over the stored images: every one in the table, sorted by score
    await tab("Batch");
    await page.getByRole("button", { name: "Score every OK and NG image" }).click();
    const table = page.getByRole("table", { name: "Batch results" });
    await table.waitFor({ timeout: 120_000 });
    expect(await table.locator("tbody tr").count()).toBe(8);
    expect(await table.locator("tbody tr").first().textContent()).toMatch(/NG.*DEFECT/);
    await shot("batch");

    // a second version on other images, then a rollback to the first: the same image scores as before
    await tab("Fit");
    await page.getByText("these files").click();
    await page.setInputFiles("input[aria-label='Good images to fit on']", await Promise.all([11, 12].map((s) => png(`other_${s}.png`, brushedMetal(W, H, s)))));
    await page.getByRole("button", { name: "Fit", exact: true }).click();
    await page.getByRole("table", { name: "Fit figures" }).getByText("2 (active)").waitFor({ timeout: 120_000 });
    await tab("Inspect");
    await page.setInputFiles("#inspect-file", await png("defect.png", rust(50, 160, 100)));
    await page.getByRole("heading", { name: "defect.png: version 2" }).waitFor({ timeout: 60_000 });
    expect(await page.locator(".verdict").textContent()).not.toBe(before);
    await tab("Versions");
    const versions = page.getByRole("table", { name: "Model versions" });
    await versions.locator("tbody tr").nth(1).waitFor();
    await shot("versions");
    await versions.locator("tbody tr").nth(1).getByRole("button", { name: "activate" }).click();
    await page.getByText("version 1 active").waitFor();
    await tab("Inspect");
    await page.setInputFiles("#inspect-file", await png("defect.png", rust(50, 160, 100)));
    await page.getByRole("heading", { name: "defect.png: version 1" }).waitFor({ timeout: 60_000 });
    expect(await page.locator(".verdict").textContent()).toBe(before);

    expect(problems).toEqual([]);
  }, 600_000);
});
