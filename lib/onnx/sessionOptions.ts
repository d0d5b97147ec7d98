/**
 * onnxruntime's intra-op threads busy-wait after each run by default. Between the forward and
 * the kNN/blur graphs this process does JavaScript work (and the extractor, kNN and blur sessions
 * each own a thread pool) on 2 vCPUs: measured here, JS right after a run took 6.9 ms p50 /
 * 12.6 ms p90 with spinning and 6.1 / 10.4 without, and the ViT forward was no slower (242 vs 251 ms).
 * Every session of this service is created with it.
 */
export const NO_SPINNING = { session: { intra_op: { allow_spinning: "0" } } } as const;
