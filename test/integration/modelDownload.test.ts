import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { OnnxFeatureExtractor } from "../../lib/features/onnxExtractor";
import { downloadModel } from "../../scripts/models/download";
import { buildVitS14Model } from "../../scripts/models/vitModel";

/**
 * The downloader against a loopback HTTP server that serves a model with the published
 * DINOv2-small export's I/O layout (pixel_values -> last_hidden_state with CLS first), built
 * here with random weights: everything but the real weights and the real host.
 */
describe("models:download (published DINOv2-small layout, served on loopback)", () => {
  const model = buildVitS14Model(3, "last_hidden_state").onnx;
  const sha256 = createHash("sha256").update(model).digest("hex");
  let server: http.Server;
  let base: string;
  let dir: string;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === "/onnx/model.onnx") {
        res.writeHead(200, { "content-length": String(model.length) });
        res.end(Buffer.from(model));
      } else {
        res.writeHead(404).end("not found");
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    dir = await mkdtemp(path.join(os.tmpdir(), "download-"));
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  const quiet = () => undefined;

  it("downloads, checks and writes the model with a card the service loads (384-d, CLS dropped)", async () => {
    const result = await downloadModel({
      url: `${base}/onnx/model.onnx`,
      dir,
      name: "dinov2-small",
      modelId: "test/dinov2-small",
      inputSize: 448,
      sha256,
      log: quiet,
    });
    expect(result.sha256).toBe(sha256);
    expect(result.bytes).toBe(model.length);
    const extractor = await OnnxFeatureExtractor.load({
      onnxPath: path.join(dir, "dinov2-small.onnx"),
      cardPath: path.join(dir, "dinov2-small.card.json"),
      inputSize: 224,
      threads: 2,
    });
    expect(extractor.card.id).toBe("test/dinov2-small");
    const [grid] = await extractor.extract(new Float32Array(3 * 224 * 224), 1);
    expect(grid).toMatchObject({ h: 16, w: 16, dim: 384 });
    await extractor.release();
    expect((await readdir(dir)).sort()).toEqual(["dinov2-small.card.json", "dinov2-small.onnx"]);
  }, 60_000);

  it("writes nothing when the SHA-256 does not match", async () => {
    await expect(
      downloadModel({ url: `${base}/onnx/model.onnx`, dir, name: "bad-hash", modelId: "x", inputSize: 448, sha256: "0".repeat(64), log: quiet }),
    ).rejects.toThrow(/SHA-256 mismatch/);
    expect(existsSync(path.join(dir, "bad-hash.onnx"))).toBe(false);
    expect(existsSync(path.join(dir, "bad-hash.card.json"))).toBe(false);
  });

  it("writes nothing on an HTTP error", async () => {
    await expect(downloadModel({ url: `${base}/missing.onnx`, dir, name: "missing", modelId: "x", inputSize: 448, log: quiet })).rejects.toThrow(/HTTP 404/);
    expect((await readdir(dir)).filter((f) => f.startsWith("missing"))).toEqual([]);
  });

  it("writes nothing when the file is not the model layout the card describes", async () => {
    const wrong = buildVitS14Model(3, "blocks").onnx; // block9..11 outputs, no last_hidden_state
    const wrongServer = http.createServer((_req, res) => res.end(Buffer.from(wrong)));
    await new Promise<void>((resolve) => wrongServer.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(wrongServer.address() as AddressInfo).port}/model.onnx`;
    await expect(downloadModel({ url, dir, name: "wrong", modelId: "x", inputSize: 448, log: quiet })).rejects.toThrow(
      /output "last_hidden_state" is not in the graph/,
    );
    wrongServer.closeAllConnections();
    await new Promise((resolve) => wrongServer.close(resolve));
    expect((await readdir(dir)).filter((f) => f.startsWith("wrong"))).toEqual([]);
  }, 60_000);
});
