#!/usr/bin/env bash
# One training burst on a GPU machine (<= 10 minutes wall clock in all).
#
# Usage (from the repository root):  bash native-models/scripts/gpu_burst.sh RUN_DIR [TRAIN_MINUTES] [extra train args]
#   RUN_DIR        e.g. native-models/runs/tiny64; its last.pt (if any) is resumed, so a burst continues a CPU run.
#   TRAIN_MINUTES  wall-clock budget of the training loop itself (default 7, leaving time for start-up and copying).
# Inputs it needs on the GPU machine: the code (tracked files), RUN_DIR/last.pt and the cached label maps
# native-models/runs/cache/grid<G>/ (both git-ignored, so pass them as carried paths: see README.md).
# Outputs: the new last.pt, log.jsonl, progress.txt and the burst's stdout are copied to $OUT (when set), which the
# device tool brings back; copy them over RUN_DIR afterwards.
set -euo pipefail

RUN_DIR=${1:?usage: gpu_burst.sh RUN_DIR [TRAIN_MINUTES] [extra train args]}
MINUTES=${2:-7}
shift $(( $# >= 2 ? 2 : 1 ))
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUN_ABS=$(mkdir -p "$RUN_DIR" && cd "$RUN_DIR" && pwd)

PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for cand in /usr/bin/python3 python3; do
    if "$cand" -c "import torch" 2>/dev/null; then PY=$cand; break; fi
  done
fi
[ -n "$PY" ] || { echo "no python with torch found (set PYTHON)" >&2; exit 3; }
"$PY" - <<'PYEOF'
import torch
print("torch", torch.__version__, "cuda", torch.cuda.is_available(),
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")
PYEOF

export MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736
cd "$HERE"
set +e
timeout $(( ${MINUTES%.*} * 60 + 120 )) "$PY" -m neuroverse3d.train --run-dir "$RUN_ABS" --budget-minutes "$MINUTES" \
  --device auto --threads 8 --save-every-minutes 3 --log-every 20 "$@" 2>&1 | tee "$RUN_ABS/burst_stdout.txt"
rc=${PIPESTATUS[0]}
set -e

if [ -n "${OUT:-}" ]; then
  mkdir -p "$OUT"
  for f in last.pt log.jsonl progress.txt config.json burst_stdout.txt; do
    [ -f "$RUN_ABS/$f" ] && cp "$RUN_ABS/$f" "$OUT/"
  done
fi
exit "$rc"
