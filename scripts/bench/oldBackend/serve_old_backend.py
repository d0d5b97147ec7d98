#!/usr/bin/env python3
"""Serve the OLD backend (MillyGit/BrakeDiscInspector's FastAPI app, unmodified) for the
same-run comparison in `npm run bench -- --only oldbackend` (scripts/bench/oldBackend.ts).

Nothing here changes its code: it is imported from its own checkout (--repo, the folder that
holds backend/app.py) and served with uvicorn. The only intervention is where its weights
come from: the app calls timm.create_model("vit_small_patch14_dinov2.lvd142m", pretrained=True),
which would download them; this launcher makes that call read --weights-file instead, the
same file scripts/models/export_dinov2.py --weights-file exports our ONNX model from, so both
backends run identical weights (setup.sh writes it: timm's own initialisation, seed 0, where
no pretrained checkpoint can be downloaded).

    python serve_old_backend.py --repo /path/to/BrakeDiscInspector --weights-file w.pth \
        --models-dir /tmp/old-models --port 8765
"""
import argparse
import os
import sys

TIMM_ID = "vit_small_patch14_dinov2.lvd142m"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", required=True, help="checkout of the old backend (holds backend/app.py)")
    parser.add_argument("--weights-file", required=True)
    parser.add_argument("--models-dir", required=True, help="the old backend's BDI_MODELS_DIR (its memories)")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()

    import torch
    import timm

    weights = os.path.abspath(args.weights_file)
    if not os.path.exists(weights):
        parser.error(f"--weights-file {weights} does not exist")

    create_model = timm.create_model

    def create_model_from_file(name, pretrained=False, **kwargs):
        if pretrained and name == TIMM_ID:
            kwargs["pretrained_cfg_overlay"] = dict(file=weights)
        return create_model(name, pretrained=pretrained, **kwargs)

    timm.create_model = create_model_from_file

    os.environ["BDI_MODELS_DIR"] = os.path.abspath(args.models_dir)
    sys.path.insert(0, os.path.abspath(args.repo))
    import uvicorn
    from backend.app import app  # noqa: E402  the old backend, as it is

    print(f"old backend: torch {torch.__version__} ({torch.get_num_threads()} threads), timm {timm.__version__}", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
