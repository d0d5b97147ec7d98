#!/usr/bin/env python3
"""Export DINOv2 ViT-S/14 to ONNX the way the old backend used it, with its model card.

Run where the internet is reachable (timm downloads the pretrained weights):

    python3 -m venv .venv && .venv/bin/pip install torch timm onnx onnxruntime numpy
    .venv/bin/python scripts/models/export_dinov2.py --out-dir layers/runtime/models [--int8]
    MODEL_NAME=dinov2-vits14-b9-11 npm start

What it writes (NAME = dinov2-vits14-b9-11 by default):
  NAME.onnx            input "pixel_values" [batch, 3, S, S] (ImageNet-normalised RGB),
                       outputs "block9", "block10", "block11": final-normed patch tokens
                       [batch, (S/14)^2, 384] (prefix tokens already removed) -> 1152-d
  NAME.card.json       the model card lib/features/modelCard.ts reads
  NAME.reference.json  PyTorch's output for a deterministic input, for
                       `npm run models:verify -- NAME` (our loader vs PyTorch)
  NAME-int8.*          with --int8: onnxruntime dynamic int8 quantisation, with its own card

The positional embedding is interpolated to S/14 x S/14 tokens when the model is created
(timm resamples it bicubically), as the old backend did, so the export is fixed-size.
--random-weights builds the same architecture without downloading anything (for testing the
export path offline; the features then mean nothing, and the card says so).
"""
import argparse
import json
import math
import os
import sys
import tempfile
import time

import numpy as np
import torch
import timm

TIMM_ID = "vit_small_patch14_dinov2.lvd142m"
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def reference_input(batch: int, size: int) -> np.ndarray:
    """Same formula as scripts/models/referenceInput.ts."""
    b, c, y, x = np.meshgrid(np.arange(batch), np.arange(3), np.arange(size), np.arange(size), indexing="ij")
    return (1.5 * np.sin(0.05 * (x + 2 * y) + c + 0.7 * b)).astype(np.float32)


class IntermediateBlocks(torch.nn.Module):
    """Final-normed patch tokens of the chosen blocks, prefix (CLS/register) tokens dropped."""

    def __init__(self, vit: torch.nn.Module, blocks: list):
        super().__init__()
        self.vit = vit
        self.blocks = blocks

    def forward(self, pixel_values):
        return tuple(self.vit.get_intermediate_layers(pixel_values, n=self.blocks, reshape=False, norm=True))


def write_json_atomic(path: str, obj) -> None:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def card_for(model_id: str, description: str, size: int, blocks: list, dim: int, source: str, precision: str = "fp32") -> dict:
    return {
        "id": model_id,
        "description": description,
        "input": {"name": "pixel_values", "size": size, "dynamicSize": False, "patchSize": 14, "mean": MEAN, "std": STD},
        "outputs": [{"name": f"block{b}", "layout": "tokens", "prefixTokens": 0, "dim": dim} for b in blocks],
        "embeddingDim": dim * len(blocks),
        "source": source,
        "precision": precision,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out-dir", default="layers/runtime/models")
    parser.add_argument("--name", default="dinov2-vits14-b9-11")
    parser.add_argument("--input-size", type=int, default=448)
    parser.add_argument("--blocks", default="9,10,11", help="0-based block indices whose outputs are concatenated")
    parser.add_argument("--opset", type=int, default=17)
    parser.add_argument("--int8", action="store_true", help="also write NAME-int8 (dynamic int8 quantisation)")
    parser.add_argument("--random-weights", action="store_true", help="no download: same architecture, random weights")
    args = parser.parse_args()

    if args.input_size % 14:
        parser.error(f"--input-size {args.input_size} is not a multiple of 14")
    blocks = [int(b) for b in args.blocks.split(",")]
    os.makedirs(args.out_dir, exist_ok=True)
    torch.manual_seed(0)

    started = time.time()
    vit = timm.create_model(TIMM_ID, pretrained=not args.random_weights, img_size=args.input_size, num_classes=0)
    vit.eval()
    depth, dim = len(vit.blocks), vit.embed_dim
    if any(b < 0 or b >= depth for b in blocks):
        parser.error(f"--blocks {args.blocks}: the model has blocks 0..{depth - 1}")
    model = IntermediateBlocks(vit, blocks).eval()
    grid = args.input_size // 14

    onnx_path = os.path.join(args.out_dir, f"{args.name}.onnx")
    tmp_path = onnx_path + ".tmp"
    example = torch.from_numpy(reference_input(1, args.input_size))
    names = [f"block{b}" for b in blocks]
    with torch.no_grad():
        torch.onnx.export(
            model,
            (example,),
            tmp_path,
            input_names=["pixel_values"],
            output_names=names,
            dynamic_axes={"pixel_values": {0: "batch"}, **{n: {0: "batch"} for n in names}},
            opset_version=args.opset,
            dynamo=False,
        )
    os.replace(tmp_path, onnx_path)
    print(f"exported {onnx_path} ({os.path.getsize(onnx_path) / 1e6:.1f} MB) in {time.time() - started:.1f} s")

    if args.random_weights:
        model_id = f"{TIMM_ID}-random-weights-b{'-'.join(map(str, blocks))}"
        source = f"timm {timm.__version__} {TIMM_ID} architecture, RANDOM weights (export-path test), torch {torch.__version__}"
    else:
        model_id = TIMM_ID if blocks == [9, 10, 11] else f"{TIMM_ID}-b{'-'.join(map(str, blocks))}"
        source = f"timm {timm.__version__} {TIMM_ID} pretrained, torch {torch.__version__}"
    description = f"DINOv2 ViT-S/14 blocks {blocks} final-normed patch tokens at {args.input_size} px ({grid}x{grid} tokens)"
    card = card_for(model_id, description, args.input_size, blocks, dim, source)

    # PyTorch vs onnxruntime on the reference input (batch 2: the batch axis is exported dynamic)
    import onnxruntime as ort

    x = reference_input(2, args.input_size)
    with torch.no_grad():
        expected = np.concatenate([t.numpy() for t in model(torch.from_numpy(x))], axis=-1)  # [2, N, D]
    session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    got = np.concatenate(session.run(names, {"pixel_values": x}), axis=-1)
    diff = float(np.abs(got - expected).max())
    print(f"onnxruntime vs torch on the reference input: max |diff| = {diff:.2e} over {expected.size} values")
    if not diff < 1e-3 * max(1.0, float(np.abs(expected).max())):
        print("export does not match PyTorch", file=sys.stderr)
        return 1

    rows = sorted({0, 1, grid, grid * grid // 2 + grid // 2, grid * grid - 1})
    reference = {
        "inputSize": args.input_size,
        "batch": 2,
        "rows": rows,
        "values": [[expected[b, r].tolist() for r in rows] for b in range(2)],
        "producer": f"torch {torch.__version__} timm {timm.__version__}",
    }
    base = os.path.join(args.out_dir, args.name)
    write_json_atomic(base + ".reference.json", reference)
    write_json_atomic(base + ".card.json", card)  # the card last: a card means the model is complete
    print(f"wrote {base}.card.json (id {model_id}) and {base}.reference.json")

    if args.int8:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        int8_path = base + "-int8.onnx"
        # per output channel, 7-bit weights (reduce_range): on x86 CPUs without VNNI onnxruntime's
        # u8 x s8 kernel adds pairs of products in 16 bits and would saturate with full-range weights;
        # the same scheme as the generated vit-s14-shape-int8 (scripts/models/quantize.ts)
        quantize_dynamic(onnx_path, int8_path + ".tmp", weight_type=QuantType.QInt8, per_channel=True, reduce_range=True,
                         op_types_to_quantize=["MatMul"])
        os.replace(int8_path + ".tmp", int8_path)
        q = np.concatenate(ort.InferenceSession(int8_path, providers=["CPUExecutionProvider"]).run(names, {"pixel_values": x}), axis=-1)
        cos = float(np.mean(np.sum(q * got, -1) / (np.linalg.norm(q, axis=-1) * np.linalg.norm(got, axis=-1) + 1e-12)))
        print(f"int8: {int8_path} ({os.path.getsize(int8_path) / 1e6:.1f} MB), mean cosine to fp32 per patch = {cos:.4f}")
        int8_card = dict(card, id=model_id + "-int8", precision="int8",
                         source=card["source"] + ", onnxruntime dynamic int8 (QInt8 MatMul weights per channel, reduce_range)")
        write_json_atomic(base + "-int8.reference.json", dict(reference, values=[[q[b, r].tolist() for r in rows] for b in range(2)],
                                                               producer=reference["producer"] + " int8 via onnxruntime"))
        write_json_atomic(base + "-int8.card.json", int8_card)
    return 0


if __name__ == "__main__":
    sys.exit(main())
