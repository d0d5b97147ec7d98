import packageJson from "../../package.json";
import path from "node:path";
import { ConfigError, loadConfig } from "../../lib/config";

describe("loadConfig", () => {
  it("has the old backend's defaults", () => {
    const config = loadConfig({});
    expect(config.model.inputSize).toBe(448);
    expect(config.patchcore).toMatchObject({ coresetRate: 0.02, scorePercentile: 99, areaMm2Threshold: 1.0, blurSigma: 1 });
    expect(config.s3).toMatchObject({ prefix: "models/", endpoint: "", forcePathStyle: false });
    expect(config.model.onnxPath).toBe(path.resolve("layers/runtime/models/texture-s14.onnx"));
    expect(config.model.cardPath).toBe(path.resolve("layers/runtime/models/texture-s14.card.json"));
    expect(config.version).toBe(packageJson.version);
  });

  it("is deeply frozen", () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.patchcore)).toBe(true);
    expect(() => {
      (config.patchcore as { coresetRate: number }).coresetRate = 0.5;
    }).toThrow(TypeError);
  });

  it("reads the environment", () => {
    const config = loadConfig({
      S3_ENDPOINT: "http://127.0.0.1:4569",
      MODELS_PREFIX: "tenant-a/models",
      MODEL_DIR: "/opt/models",
      MODEL_NAME: "dinov2-vits14",
      INPUT_SIZE: "518",
      CORESET_RATE: "0.1",
      ORT_THREADS: "2",
      LOG_LEVEL: "DEBUG",
    });
    expect(config.s3.forcePathStyle).toBe(true);
    expect(config.s3.prefix).toBe("tenant-a/models/");
    expect(config.model.onnxPath).toBe("/opt/models/dinov2-vits14.onnx");
    expect(config.model.inputSize).toBe(518);
    expect(config.patchcore.coresetRate).toBe(0.1);
    expect(config.model.ortThreads).toBe(2);
    expect(config.logLevel).toBe("debug");
  });

  it.each([
    ["INPUT_SIZE", "abc"],
    ["INPUT_SIZE", "447.5"],
    ["INPUT_SIZE", "0"],
    ["CORESET_RATE", "0"],
    ["CORESET_RATE", "1.5"],
    ["SCORE_PERCENTILE", "101"],
    ["AREA_MM2_THR", "-1"],
    ["BLUR_SIGMA", "NaN"],
    ["ORT_THREADS", "-1"],
    ["S3_ENDPOINT", "localhost:4569"],
    ["MODELS_BUCKET", "Not_A_Bucket"],
    ["MODEL_NAME", "../etc/passwd"],
    ["LOG_LEVEL", "verbose"],
    ["S3_FORCE_PATH_STYLE", "maybe"],
    ["CACHE_MAX_BYTES", "1e3.5"],
    ["S3_TIMEOUT_MS", "30000"],
    ["S3_CONNECT_TIMEOUT_MS", "1.5"],
    ["S3_SOCKET_TIMEOUT_MS", "-1"],
    ["S3_MAX_ATTEMPTS", "0"],
  ])("rejects %s=%s with an error naming the variable", (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^Invalid configuration: ${name}=`));
  });
});
