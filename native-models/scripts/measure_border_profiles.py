#!/usr/bin/env python3
"""Measures how T1 intensity changes near the borders between aseg structures on the dev heads, for the
starter library's renderer (build_starter_library.py reads the table this writes).

A real MPRAGE does not draw each structure at one grey level with a sharp step to the next: the white matter
between the deep grey nuclei (internal and external capsule) is darker than the white matter elsewhere, the
thalamus fades into it with next to no edge, and a structure darkens over millimetres towards the CSF beside
it. The starter's first heads drew flat tissues, and joint label fusion's patch search then followed edges the
target does not have (thalamus 0.75 Dice against 0.85 for the vote of the same pairs).

What is written is a table of numbers, not voxels: for each aseg label L, each neighbouring label M and each
depth d = 1..DEPTH mm inside L (distance to the nearest voxel not L, rounded, whose label is M), the mean
intensity of those voxels relative to the head's median white matter, as the median over the heads that have
at least MIN_VOXELS such voxels (kept where at least MIN_HEADS heads do).

Run from the project root with Debian's python (numpy, scipy, nibabel):
  /usr/bin/python3 native-models/scripts/measure_border_profiles.py [--data ../shared/data/freesurfer-dev]
       [--out native-models/scripts/starter_border_profiles.json]
"""

import argparse
import glob
import json
import os

import nibabel as nib
import numpy as np
from scipy import ndimage as ndi

DEPTH = 5
MIN_VOXELS = 30
MIN_HEADS = 3
# Borders the table covers: the deep structures and what lies around them. Cortex and the unlabelled 0 stay
# out: in the dev heads 0 inside the head is sulcal CSF, dura and vessels together, in the starter's label
# maps those are separate labels, so a profile measured against one does not carry over to the other.
LABELS = [2, 41, 4, 43, 5, 44, 10, 49, 11, 50, 12, 51, 13, 52, 14, 15, 16, 17, 53, 18, 54, 24, 26, 58, 28, 60, 31, 63, 7, 46, 8, 47]


def head_profiles(t1, aseg):
    a = np.asarray(nib.load(t1).dataobj).astype(np.float32)
    lab = np.rint(np.asarray(nib.load(aseg).dataobj)).astype(np.int32)
    wm = float(np.median(a[ndi.binary_erosion(np.isin(lab, [2, 41]), iterations=2)]))
    keep = set(LABELS)
    out = {}
    for L in LABELS:
        m = lab == L
        if not m.any():
            continue
        idx = np.nonzero(m)
        sl = tuple(slice(max(0, int(i.min()) - 2), int(i.max()) + 3) for i in idx)
        mm = m[sl]
        din, ind = ndi.distance_transform_edt(mm, return_indices=True)
        nb = lab[sl][tuple(ind)]
        depth = np.rint(din).astype(np.int32)
        aa = a[sl] / wm
        sel = mm & (depth >= 1) & (depth <= DEPTH)
        for M in np.unique(nb[sel]):
            if int(M) not in keep:
                continue
            for d in range(1, DEPTH + 1):
                s = sel & (nb == M) & (depth == d)
                n = int(s.sum())
                if n >= MIN_VOXELS:
                    out[(L, int(M), d)] = float(aa[s].mean())
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--data', default='../shared/data/freesurfer-dev')
    ap.add_argument('--out', default='native-models/scripts/starter_border_profiles.json')
    a = ap.parse_args()
    heads = sorted(glob.glob(os.path.join(a.data, 'sub-*_T1.nii.gz')))
    per = [head_profiles(h, h.replace('_T1.nii.gz', '_aseg.nii.gz')) for h in heads]
    keys = sorted(set().union(*per))
    table = {}
    for L, M, d in keys:
        vals = [p[(L, M, d)] for p in per if (L, M, d) in p]
        if len(vals) >= MIN_HEADS:
            table.setdefault(str(L), {}).setdefault(str(M), {})[str(d)] = round(float(np.median(vals)), 3)
    doc = {
        'what': 'mean T1 / median white matter by depth (mm) inside aseg label L next to label M, median over the dev heads',
        'measuredBy': 'native-models/scripts/measure_border_profiles.py',
        'heads': len(heads),
        'depth': DEPTH,
        'profiles': table,
    }
    with open(a.out, 'w') as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write('\n')


if __name__ == '__main__':
    main()
