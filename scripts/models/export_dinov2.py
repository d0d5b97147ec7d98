#!/usr/bin/env python3
"""Export DINOv2 ViT-S/14 to ONNX the way the old backend used it, with its model card.

Run where the internet is reachable (timm downloads the pretrained weights):

    python3 -m venv .venv && .venv/bin/pip install torch timm onnx onnxruntime numpy
    .venv/bin/python scripts/models/export_dinov2.py --out-dir layers/runtime/models [--int8]
    MODEL_NAME=dinov2-vits14-b9-11 npm start

What it writes (NAME = dinov2-vits14-b9-11 by default):
  NAME.onnx            input "pixel_values" [batch, 3, S, S] (ImageNet-normalised RGB),
                       outputs "block9", "block10", "block11": the blocks' patch tokens as
                       the old backend took them (get_intermediate_layers' default: NOT
                       passed through the final LayerNorm; --final-norm to apply it)
                       [batch, (S/14)^2, 384] (prefix tokens already removed) -> 1152-d
  NAME.card.json       the model card lib/features/modelCard.ts reads
  NAME.reference.json  PyTorch's output for a deterministic input, for
                       `npm run models:verify -- NAME` (our loader vs PyTorch)
  NAME-int8.*          with --int8: onnxruntime dynamic int8 quantisation, with its own card

The positional embedding is resized to S/14 x S/14 tokens the way the old backend's
features.py did on every call: the checkpoint's grid (37 x 37 for DINOv2's 518 px) through
torch's bicubic interpolate (align_corners=False, no antialiasing; timm's own resampling at
model creation antialiases, which moves scores by ~0.5 %), the CLS position kept, so the export
is fixed-size. Measured against the old backend itself on the same weights file:
npm run bench -- --only oldbackend (scripts/bench/oldBackend/).
--random-weights builds the same architecture without downloading anything (for testing the
export path offline; the features then mean nothing, and the card says so). --weights-file
loads a checkpoint from disk instead of downloading it (the card names its SHA-256); the
same-run comparison with the old backend (scripts/bench/oldBackend/) uses it so that both
backends run identical weights.
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
    """Patch tokens of the chosen blocks (final LayerNorm applied only with final_norm), prefix
    (CLS/register) tokens dropped."""

    def __init__(self, vit: torch.nn.Module, blocks: list, final_norm: bool):
        super().__init__()
        self.vit = vit
        self.blocks = blocks
        self.final_norm = final_norm

    def forward(self, pixel_values):
        return tuple(self.vit.get_intermediate_layers(pixel_values, n=self.blocks, reshape=False, norm=self.final_norm))


def fix_input_size(vit: torch.nn.Module, size: int) -> None:
    """The old backend's input-size change: the patch embedding told the new size, the
    positional embedding's grid resized by bicubic interpolation (align_corners=False, no
    antialiasing) from the checkpoint's grid, the class token's position kept."""
    patch = vit.patch_embed.patch_size[0]
    grid = size // patch
    pe = vit.patch_embed
    if hasattr(pe, "set_input_size"):
        pe.set_input_size((size, size))
    pe.img_size = (size, size)
    pe.grid_size = (grid, grid)
    with torch.no_grad():
        pos = vit.pos_embed  # [1, prefix + g*g, C]
        prefix = pos.shape[1] - int(round((pos.shape[1] - 1) ** 0.5)) ** 2
        cls, tokens = pos[:, :prefix], pos[:, prefix:]
        old = int(round(tokens.shape[1] ** 0.5))
        tokens_2d = tokens.reshape(1, old, old, -1).permute(0, 3, 1, 2)
        resized = torch.nn.functional.interpolate(tokens_2d, size=(grid, grid), mode="bicubic", align_corners=False)
        vit.pos_embed = torch.nn.Parameter(torch.cat([cls, resized.permute(0, 2, 3, 1).reshape(1, grid * grid, -1)], dim=1), requires_grad=False)


def file_sha256(path: str) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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
    parser.add_argument("--final-norm", action="store_true", help="apply the final LayerNorm to the blocks' tokens (the old backend did not)")
    parser.add_argument("--int8", action="store_true", help="also write NAME-int8 (dynamic int8 quantisation)")
    parser.add_argument("--random-weights", action="store_true", help="no download: same architecture, random weights")
    parser.add_argument("--weights-file", help="no download: load the checkpoint from this file (a timm/torch state dict of "
                        f"{TIMM_ID}, e.g. one downloaded elsewhere); its positional grid resized to --input-size as the old backend did")
    args = parser.parse_args()

    if args.input_size % 14:
        parser.error(f"--input-size {args.input_size} is not a multiple of 14")
    blocks = [int(b) for b in args.blocks.split(",")]
    os.makedirs(args.out_dir, exist_ok=True)
    torch.manual_seed(0)

    started = time.time()
    if args.random_weights and args.weights_file:
        parser.error("--random-weights and --weights-file exclude each other")
    if args.weights_file:
        vit = timm.create_model(TIMM_ID, pretrained=True, pretrained_cfg_overlay=dict(file=os.path.abspath(args.weights_file)), num_classes=0)
    else:
        vit = timm.create_model(TIMM_ID, pretrained=not args.random_weights, num_classes=0)
    fix_input_size(vit, args.input_size)
    vit.eval()
    depth, dim = len(vit.blocks), vit.embed_dim
    if any(b < 0 or b >= depth for b in blocks):
        parser.error(f"--blocks {args.blocks}: the model has blocks 0..{depth - 1}")
    model = IntermediateBlocks(vit, blocks, args.final_norm).eval()
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
    elif args.weights_file:
        digest = file_sha256(args.weights_file)
        model_id = f"{TIMM_ID}-weights-{digest[:12]}-b{'-'.join(map(str, blocks))}"
        source = f"timm {timm.__version__} {TIMM_ID} with weights from {os.path.basename(args.weights_file)} (sha256 {digest}), torch {torch.__version__}"
    else:
        model_id = TIMM_ID if blocks == [9, 10, 11] else f"{TIMM_ID}-b{'-'.join(map(str, blocks))}"
        source = f"timm {timm.__version__} {TIMM_ID} pretrained, torch {torch.__version__}"
    if args.final_norm:
        model_id += "-final-norm"
    tokens = "final-normed patch tokens" if args.final_norm else "patch tokens (no final norm, as the old backend)"
    description = f"DINOv2 ViT-S/14 blocks {blocks} {tokens} at {args.input_size} px ({grid}x{grid} tokens)"
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
