#!/usr/bin/env bash
# A quick model package from a training checkpoint, for checking it through the app's CLI while training goes
# on (no evaluation card; build_default_model.sh makes the real one).
# Usage (from the repository root, after `npm run build:node`): bash native-models/scripts/package_checkpoint.sh RUN_DIR OUT_DIR
# Env: TASKS (default segment,generate), PACKAGE_FLAGS (default: aligned as the default model v2), NAME.
# A lesion model: TASKS=segment PACKAGE_FLAGS='--alignment none' NAME='...' (docs/lesions.md).
set -euo pipefail
RUN_DIR=${1:?usage: package_checkpoint.sh RUN_DIR OUT_DIR}
OUT=${2:?usage: package_checkpoint.sh RUN_DIR OUT_DIR}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUN_ABS=$(cd "$RUN_DIR" && pwd)
export MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736
(cd "$ROOT/native-models" && "${PYTHON:-/usr/bin/python3}" -m neuroverse3d.export --checkpoint "$RUN_ABS/last.pt" --out "$RUN_ABS/export-check")
GRID=$("${PYTHON:-/usr/bin/python3}" -c "import json,sys; g=json.load(open(sys.argv[1]))['grid']; print(g[0] if isinstance(g, list) else g)" "$RUN_ABS/export-check/architecture.json")
node "$ROOT/bin/neuroverse.js" model import "$RUN_ABS/export-check/neuroverse3d.safetensors" --out "$OUT" --force \
  --name "${NAME:-checkpoint of $(basename "$RUN_ABS")}" --grid "$GRID" --tasks "${TASKS:-segment,generate}" \
  --fit foreground-box:0.1:5 --orientation LIA ${PACKAGE_FLAGS:---alignment affine --aligned-frame structure:10}
