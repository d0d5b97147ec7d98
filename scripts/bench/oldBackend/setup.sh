#!/usr/bin/env bash
# Prepares the same-run comparison with the old backend (npm run bench -- --only oldbackend):
#   bash scripts/bench/oldBackend/setup.sh <old backend checkout> <venv folder>
# 1. a Python venv with the old backend's requirements (its backend/requirements.txt, plus
#    onnx/onnxruntime for our exporter; numpy is left to pip, as the wheels installable here allow);
# 2. a DINOv2 ViT-S/14 weights file: timm's initialisation with seed 0 (no internet here; replace
#    <venv>/dinov2-vits14-random-seed0.pth with a real checkpoint to compare on real weights);
# 3. our ONNX export of those same weights, fp32 and int8, into <venv>/models.
# Then: npm run bench -- --only oldbackend --old-backend <checkout> --old-venv <venv folder>
set -euo pipefail
repo=${1:?usage: setup.sh <old backend checkout> <venv folder>}
venv=${2:?usage: setup.sh <old backend checkout> <venv folder>}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
test -f "$repo/backend/app.py" || { echo "$repo/backend/app.py not found: give the old backend's checkout" >&2; exit 2; }

python3 -m venv "$venv"
"$venv/bin/pip" install --quiet torch timm faiss-cpu fastapi uvicorn numpy opencv-python-headless \
  scikit-learn scipy pillow python-multipart pyyaml onnx onnxruntime
# Some offline wheel stores pair a CPU-only torch with a CUDA build of torchvision whose ops cannot
# load; timm imports torchvision, which then fails registering those ops' fake kernels. Neither
# backend uses a torchvision op: in this throwaway venv only, skip the registrations.
if ! "$venv/bin/python" -c "import timm" 2>/dev/null; then
  meta=$("$venv/bin/python" -c "import importlib.util as u; print(u.find_spec('torchvision').submodule_search_locations[0])")/_meta_registrations.py
  echo "timm cannot import torchvision here (CUDA torchvision beside CPU torch): emptying $meta in this venv" >&2
  echo "# emptied by scripts/bench/oldBackend/setup.sh: this torchvision's C ops cannot load beside this torch" > "$meta"
  "$venv/bin/python" -c "import timm"
fi
weights="$venv/dinov2-vits14-random-seed0.pth"
if [ ! -f "$weights" ]; then
  "$venv/bin/python" - "$weights" <<'PY'
import os, sys, torch, timm
torch.manual_seed(0)
state = timm.create_model("vit_small_patch14_dinov2.lvd142m", pretrained=False).state_dict()
torch.save(state, sys.argv[1] + ".tmp")
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
print("wrote", sys.argv[1])
PY
fi
"$venv/bin/python" "$root/scripts/models/export_dinov2.py" --weights-file "$weights" --out-dir "$venv/models" --int8
echo "ready: npm run bench -- --only oldbackend --old-backend $repo --old-venv $venv"
