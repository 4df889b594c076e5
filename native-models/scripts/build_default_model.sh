#!/usr/bin/env bash
# Turns a training run into the app's bundled model package, resources/models/default/.
#
# Usage (from the repository root, after `npm run build`):
#   bash native-models/scripts/build_default_model.sh RUN_DIR [REPEATS] [--history "text"]
# Steps: export RUN_DIR/last.pt to safetensors; evaluate it on held-out data (segmentation incl. Colin27/AAL, and the
# generation tasks); build the evaluation card from those measured files; convert the safetensors with the app's own
# TypeScript importer (no Python in the app) and store the card in the manifest. The new package is written next to
# the old one and swapped in only when everything succeeded, so a failed build leaves the bundled model as it was.
set -euo pipefail

RUN_DIR=${1:?usage: build_default_model.sh RUN_DIR [REPEATS] [--history TEXT]}
REPEATS=${2:-2}
HISTORY=""
if [ "${3:-}" = "--history" ]; then HISTORY=${4:-}; fi
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUN_ABS=$(cd "$RUN_DIR" && pwd)
PY=${PYTHON:-/usr/bin/python3}
export MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736
THREADS=${THREADS:-2}

cd "$ROOT/native-models"
"$PY" -m neuroverse3d.export --checkpoint "$RUN_ABS/last.pt" --out "$RUN_ABS/export"
"$PY" -m neuroverse3d.evaluate --checkpoint "$RUN_ABS/last.pt" --repeats "$REPEATS" --colin27 --no-generation \
  --threads "$THREADS" --out "$RUN_ABS/eval_seg"
"$PY" -m neuroverse3d.evaluate --checkpoint "$RUN_ABS/last.pt" --repeats 1 --no-segmentation \
  --threads "$THREADS" --out "$RUN_ABS/eval_gen"
"$PY" -m neuroverse3d.eval_aligned --checkpoint "$RUN_ABS/last.pt" --threads "$THREADS" --out "$RUN_ABS/eval_aligned.json"
"$PY" -m neuroverse3d.card --checkpoint "$RUN_ABS/last.pt" --eval "$RUN_ABS/eval_seg" --gen-eval "$RUN_ABS/eval_gen" \
  --aligned-eval "$RUN_ABS/eval_aligned.json" \
  ${HISTORY:+--history "$HISTORY"} --out "$RUN_ABS/card.json"

GRID=$("$PY" -c "import json,sys; g=json.load(open(sys.argv[1]))['grid']; print(g[0] if isinstance(g, list) else g)" "$RUN_ABS/export/architecture.json")
cd "$ROOT"
NEW="resources/models/.default.new"
rm -rf "$NEW"
node bin/neuroverse.js model import "$RUN_ABS/export/neuroverse3d.safetensors" --out "$NEW" \
  --name "Neuroverse3D default (${GRID}³, trained here)" --grid "$GRID" --tasks segment,generate \
  --fit foreground-box:0.1:5 --orientation LIA ${PACKAGE_FLAGS:---alignment affine --aligned-frame structure:10} \
  --evaluation "$RUN_ABS/card.json"
node bin/neuroverse.js model info "$NEW" > /dev/null  # loads the manifest and checks every graph's sha256
rm -rf resources/models/.default.old
[ -d resources/models/default ] && mv resources/models/default resources/models/.default.old
mv "$NEW" resources/models/default
rm -rf resources/models/.default.old
cp "$RUN_ABS/eval_seg/eval.md" resources/models/default/EVALUATION-segmentation.md
cp "$RUN_ABS/eval_gen/eval.md" resources/models/default/EVALUATION-generation.md
du -sh resources/models/default
