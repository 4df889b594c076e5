#!/usr/bin/env python3
"""Builds the starter context library that ships with the app (resources/starter-library/).

Each pair is one of the Apache-2.0 SynthSeg training label maps (../shared/data/synthseg-label-maps/,
real subjects' whole-head FreeSurfer-style labels incl. skull, scalp and eyes) rendered as a T1-weighted
MPRAGE-like head with skull, plus that label map reduced to the FreeSurfer aseg values (uint8).

Why rendered and not real scans: the app may only ship data whose licence allows it; the dev heads
(freesurfer-dev) are never shipped nor used as pairs. What carries over from them is a fact: the typical
T1 intensity of each aseg structure relative to white matter (medians measured on their aseg labels, the
table BRAIN_T1 below, WM = 1), and how it changes near the borders between the deep structures (the table
starter_border_profiles.json beside this script, written by measure_border_profiles.py: mean intensity by depth
inside a structure next to each neighbour; numbers, not voxels). The extra-cerebral labels are unnamed in the source's table; their tissue
was read from where they lie (layering from the brain outwards on rays, distance to the head surface,
position) and given textbook MPRAGE contrast: scalp fat bright, skull and eyes dark, muscle grey.

Run from the project root with Debian's python (numpy, scipy, nibabel):
  /usr/bin/python3 native-models/scripts/build_starter_library.py [--maps DIR] [--out DIR] [--ids 01,02,...]
Deterministic (seeded per map): the same inputs give the same voxels.
"""

import argparse
import json
import os
import sys

import nibabel as nib
import numpy as np
from scipy import ndimage as ndi

# Median T1 intensity per aseg label / median of cerebral white matter, measured on the five dev heads'
# aseg labels (eroded where large). Pallidum and white matter sit at FreeSurfer's normalisation ceiling.
BRAIN_T1 = {
    2: 1.02, 41: 1.02, 3: 0.71, 42: 0.72, 4: 0.30, 43: 0.30, 5: 0.49, 44: 0.45, 7: 1.01, 46: 1.02,
    8: 0.78, 47: 0.79, 10: 0.97, 49: 0.96, 11: 0.80, 50: 0.80, 12: 0.92, 51: 0.91, 13: 1.02, 52: 1.02,
    14: 0.49, 15: 0.39, 16: 1.02, 17: 0.75, 53: 0.76, 18: 0.76, 54: 0.77, 26: 0.79, 58: 0.79,
    28: 1.02, 60: 1.01, 30: 0.57, 62: 0.58, 31: 0.57, 63: 0.58, 72: 0.45, 77: 0.71, 85: 0.84,
    25: 0.60, 57: 0.60,
    # Outside the ventricles the source labels all CSF as 24; the dev heads' 24 is only the partial-volumed
    # CSF FreeSurfer keeps next to the brain stem (0.64), sulcal CSF on MPRAGE is darker.
    24: 0.40,
}
# Extra-cerebral labels of the SynthSeg maps (not named in their table): tissue read from position.
EXTRA_T1 = {
    511: 1.45,  # outermost 1-3 mm of the whole head surface: skin and subcutaneous fat, the brightest on MPRAGE
    507: 0.70,  # the bulk of non-brain soft tissue (muscle, connective tissue, neck)
    515: 0.28,  # shell right outside the CSF (inner and outer table): skull, dark
    516: 0.35,  # deep non-brain tissue 3-65 mm from the brain (bone of the skull base and face)
    514: 0.55,  # between CSF and skull at the vertex and base (dura, venous sinuses)
    506: 0.22,  # two globes in the orbits: vitreous, dark like CSF
    508: 0.60,  # behind the globes (optic nerves, orbital tissue)
    509: 0.80,  # anterior-inferior surface (nose, lips)
    502: 0.36,  # inferior, deep (large vessels / airway)
    512: 0.60,  # far inferior (spinal canal)
    530: 0.56,
    136: 0.80, 163: 0.80, 137: 0.95, 164: 0.95,  # small patches on the brain surface
}
WM = 110.0  # white matter after FreeSurfer-style normalisation, as in the dev heads (uint8 scale)
# aseg values kept in the label maps (FreeSurfer names in main/common/aseg-names.ts)
ASEG_KEEP = sorted(v for v in BRAIN_T1 if v <= 255)

# Which label maps: those of 01-16 (17-20 stay held out for models trained on the rest) without marked
# atrophy, hippocampus >= 6 mL and lateral ventricles <= 30 mL (the others are of elderly heads: ventricles up
# to 75 mL, hippocampi of 4 mL); a typical adult brain is what a first run on an unknown scan should assume.
DEFAULT_IDS = ['03', '04', '07', '09', '10', '12', '13']

SET = {
    'name': 'Whole-brain anatomy (starter)',
    'task': 'Whole-brain anatomy (aseg)',
    'structure': 'FreeSurfer aseg structures',
    'scanner': 'synthetic T1 (starter)',
}


def load_profiles(path):
    """The border profiles measured on the dev heads (measure_border_profiles.py), or None where absent."""
    if not path or not os.path.exists(path):
        return None
    with open(path) as f:
        doc = json.load(f)
    return {int(L): {int(M): {int(d): v for d, v in row.items()} for M, row in nb.items()} for L, nb in doc['profiles'].items()}, int(doc['depth'])


def with_border_profiles(base, lab, profiles):
    """Each tissue's intensity near a neighbouring tissue from the measured profiles (depth in mm inside it, its
    nearest other label), instead of one grey level up to a sharp step: e.g. the capsules between the deep grey
    nuclei are darker than the rest of the white matter and the thalamus has next to no edge against them. One
    mm beyond the table the intensity is halfway to the tissue's own, so no new step is drawn there."""
    table, depth_max = profiles
    out = base.copy()
    for L, neighbours in table.items():
        m = lab == L
        if not m.any():
            continue
        idx = np.nonzero(m)
        sl = tuple(slice(max(0, int(i.min()) - 2), int(i.max()) + 3) for i in idx)
        mm = m[sl]
        din, ind = ndi.distance_transform_edt(mm, return_indices=True)
        nb = lab[sl][tuple(ind)]
        depth = np.rint(din).astype(np.int32)
        view = out[sl]
        own = base[sl]
        for M, row in neighbours.items():
            near = mm & (nb == M)
            for d, v in row.items():
                view[near & (depth == d)] = v
            if depth_max in row:
                s = near & (depth == depth_max + 1)
                view[s] = 0.5 * (row[depth_max] + own[s])
    return out


def render(labels, affine, seed, profiles=None):
    rng = np.random.default_rng(seed)
    lab = labels.astype(np.int32)
    lut = np.zeros(lab.max() + 1, np.float32)
    for table in (BRAIN_T1, EXTRA_T1):
        for v, m in table.items():
            if v < lut.size:
                lut[v] = m
    unknown = sorted(set(np.unique(lab).tolist()) - set(BRAIN_T1) - set(EXTRA_T1) - {0})
    for v in unknown:  # anything unlisted: grey like soft tissue, said so
        print(f'  label {v} has no intensity: rendered as soft tissue', file=sys.stderr)
        lut[v] = 0.70
    # Per-subject contrast: a few % of tissue-wise jitter, as between real scans.
    jitter = 1 + rng.normal(0, 0.02, lut.size).astype(np.float32)
    base = lut[lab]
    if profiles:
        base = with_border_profiles(base, lab, profiles)
    img = base * jitter[lab] * WM
    # Texture inside tissues (the dev heads' within-structure sd is ~3-5 % of WM), smooth at ~1 mm.
    img += ndi.gaussian_filter(rng.normal(0, 0.03 * WM, img.shape).astype(np.float32), 0.8) * (lab > 0)
    # Partial volume at boundaries: the scanner's point spread at 1 mm.
    img = ndi.gaussian_filter(img, 0.6)
    # Smooth multiplicative bias (receive-coil sensitivity), about ±8 % over the head.
    coarse = rng.normal(0, 1, (4, 4, 4)).astype(np.float32)
    bias = ndi.zoom(coarse, np.array(img.shape) / 4.0, order=3)[: img.shape[0], : img.shape[1], : img.shape[2]]
    bias = 1 + 0.08 * bias / (np.abs(bias).max() + 1e-6)
    img *= bias
    # Rician noise (magnitude of complex Gaussian noise), mild as after FreeSurfer's conform step; the air
    # stays 0 as in those images (and noise there would only cost installer size: it does not compress).
    s = 1.2
    img = np.sqrt((img + rng.normal(0, s, img.shape)) ** 2 + rng.normal(0, s, img.shape) ** 2)
    img *= ndi.binary_dilation(lab > 0, iterations=2)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def crop_box(head, margin):
    idx = np.nonzero(head)
    lo = [max(0, int(i.min()) - margin) for i in idx]
    hi = [min(n, int(i.max()) + 1 + margin) for i, n in zip(idx, head.shape)]
    return tuple(slice(a, b) for a, b in zip(lo, hi))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--maps', default='../shared/data/synthseg-label-maps')
    ap.add_argument('--out', default='resources/starter-library')
    # 17-20 stay out: the shared data keeps them for held-out checks of models trained on the rest.
    ap.add_argument('--ids', default=','.join(DEFAULT_IDS))
    ap.add_argument('--profiles', default=os.path.join(os.path.dirname(os.path.abspath(__file__)), 'starter_border_profiles.json'))
    a = ap.parse_args()
    profiles = load_profiles(a.profiles)
    os.makedirs(a.out, exist_ok=True)
    pairs = []
    for k in a.ids.split(','):
        src = os.path.join(a.maps, f'training_seg_{k}.nii.gz')
        im = nib.load(src)
        lab = np.rint(np.asarray(im.dataobj)).astype(np.int32)
        box = crop_box(lab > 0, 4)
        lab = lab[box]
        aff = im.affine.copy()
        aff[:3, 3] = im.affine[:3, :3] @ np.array([s.start for s in box]) + im.affine[:3, 3]
        img = render(lab, aff, seed=int(k) * 7919, profiles=profiles)
        seg = np.where(np.isin(lab, ASEG_KEEP), lab, 0).astype(np.uint8)
        base = f'starter_{k}'
        for data, name, intent in ((img, f'{base}_t1.nii.gz', None), (seg, f'{base}_aseg.nii.gz', 'label')):
            out = nib.Nifti1Image(data, aff)
            out.header.set_data_dtype(np.uint8)
            out.header.set_xyzt_units('mm', 'sec')
            out.header['descrip'] = b'neuroverse starter (SynthSeg label map, Apache-2.0)'
            if intent:
                out.header.set_intent('label')
            out.set_qform(aff, 1)
            out.set_sform(aff, 1)
            nib.save(out, os.path.join(a.out, name))
        pairs.append({
            'image': f'{base}_t1.nii.gz',
            'label': f'{base}_aseg.nii.gz',
            'source': f'synthseg-label-maps/training_seg_{k}.nii.gz',
            'dims': list(seg.shape),
        })
        print(f'{base}: {seg.shape}', file=sys.stderr)
    manifest = {
        'format': 'neuroverse-starter-library',
        'version': 2,  # 2: border profiles (measure_border_profiles.py); an install of 1 is replaced (library/starter.ts)
        'set': SET['name'],
        'task': SET['task'],
        'taskKind': 'segment',
        'structure': SET['structure'],
        'scanner': SET['scanner'],
        'labels': ASEG_KEEP,
        'description': 'Synthetic T1-weighted heads with skull rendered from the SynthSeg training label maps '
        '(real subjects, FreeSurfer aseg labels); for whole-brain anatomy on T1 scans until you add your own pairs.',
        'licence': 'Apache-2.0 (label maps: SynthSeg, B. Billot et al.; see LICENSE.txt here)',
        'builtBy': 'native-models/scripts/build_starter_library.py',
        'pairs': pairs,
    }
    with open(os.path.join(a.out, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=2)
        f.write('\n')
    lic = os.path.join(a.maps, 'LICENSE.txt')
    if os.path.exists(lic):
        with open(lic) as src, open(os.path.join(a.out, 'LICENSE.txt'), 'w') as dst:
            dst.write(src.read())


if __name__ == '__main__':
    main()
