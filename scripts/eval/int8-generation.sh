#!/usr/bin/env bash
# PSNR of a generation task (skull stripping: T1 with skull → FreeSurfer's brainmask) on the five dev heads,
# leave-one-out with four pairs, through `neuroverse run`, for an fp32 package and its int8 variant (issue 15).
# usage: scripts/eval/int8-generation.sh FP32_PACKAGE INT8_PACKAGE OUT_DIR     (after npm run build:node)
# PSNR over the target's brain-mask box, in the model's output units: the reference normalised as the model
# normalises images (2nd–98th percentile → [0, 1], clipped), the outputs as written, clipped to [0, 1].
# Runs whose output exists are not repeated (re-analysis).
set -euo pipefail
fp32=$1 int8=$2 out=$3
D=${NEUROVERSE_DEV_HEADS:-$(dirname "$0")/../../../shared/data/freesurfer-dev}
mkdir -p "$out"
export NEUROVERSE_DATA_DIR="$out/data"   # its own registration cache: the first run per target registers
for t in 1 2 3 4 5; do
  ctx=()
  for j in 1 2 3 4 5; do [ "$j" = "$t" ] || ctx+=(--context "$D/sub-0${j}_T1.nii.gz,$D/sub-0${j}_brainmask.nii.gz"); done
  for p in fp32 int8; do
    pkg=$fp32; [ "$p" = int8 ] && pkg=$int8
    [ -f "$out/sub-0${t}-$p.nii.gz" ] || node "$(dirname "$0")/../../bin/neuroverse.js" run --task generate --target "$D/sub-0${t}_T1.nii.gz" "${ctx[@]}" \
      --align affine --model "$pkg" --precision "$p" --out "$out/sub-0${t}-$p.nii.gz" --json > "$out/sub-0${t}-$p.json"
  done
done
/usr/bin/python3 - "$D" "$out" <<'PY'
import json, sys
import nibabel as nib, numpy as np
D, out = sys.argv[1], sys.argv[2]
rows = []
for t in range(1, 6):
    ref = nib.load(f"{D}/sub-0{t}_brainmask.nii.gz").get_fdata()
    box = tuple(slice(a.min(), a.max() + 1) for a in np.nonzero(ref > 0))
    lo, hi = np.percentile(ref, [2, 98])
    r = np.clip((ref[box] - lo) / (hi - lo), 0, 1)
    row = {"target": f"sub-0{t}"}
    outs = {}
    for p in ("fp32", "int8"):
        img = nib.load(f"{out}/sub-0{t}-{p}.nii.gz").get_fdata()[box]
        outs[p] = np.clip(img, 0, 1)
        row[f"psnr_{p}"] = float(10 * np.log10(1 / np.mean((outs[p] - r) ** 2)))
        row[f"seconds_{p}"] = json.load(open(f"{out}/sub-0{t}-{p}.json"))["seconds"]["total"]
    row["psnr_int8_vs_fp32"] = float(10 * np.log10(1 / np.mean((outs["int8"] - outs["fp32"]) ** 2)))
    rows.append(row)
    print(json.dumps(row))
mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0] if k != "target"}
print(json.dumps({"mean": mean}))
json.dump({"rows": rows, "mean": mean}, open(f"{out}/psnr.json", "w"), indent=1)
PY
