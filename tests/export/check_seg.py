"""Independent check of a DICOM-SEG written by Neuroverse, with pydicom + nibabel + numpy only.

usage: check_seg.py SEG MASK.nii[.gz] SOURCE_FILE...
For every SEG frame: the referenced source instance (and frame) must exist and lie at the SEG
frame's position; every SEG pixel must equal (mask == segment value) at the voxel the pixel's world
position falls on in the NIfTI mask (found through nibabel's affine, not through our code).
Prints one JSON object.
"""
import gzip, json, sys
import numpy as np
import nibabel as nib
import pydicom

seg_path, mask_path, *sources = sys.argv[1:]
seg = pydicom.dcmread(seg_path)
mask_img = nib.load(mask_path)
mask = np.asarray(mask_img.dataobj).astype(np.int64)
inv = np.linalg.inv(mask_img.affine)

def read(p):
    if p.endswith('.gz'):
        with gzip.open(p, 'rb') as f:
            return pydicom.dcmread(f, stop_before_pixels=True)
    return pydicom.dcmread(p, stop_before_pixels=True)

# Source positions by (SOPInstanceUID, frame number).
positions = {}
for p in sources:
    ds = read(p)
    if 'PerFrameFunctionalGroupsSequence' in ds:
        for n, fg in enumerate(ds.PerFrameFunctionalGroupsSequence, start=1):
            positions[(ds.SOPInstanceUID, n)] = [float(x) for x in fg.PlanePositionSequence[0].ImagePositionPatient]
    else:
        positions[(ds.SOPInstanceUID, None)] = [float(x) for x in ds.ImagePositionPatient]

values = {int(s.SegmentNumber): None for s in seg.SegmentSequence}
labels = {int(s.SegmentNumber): s.SegmentLabel for s in seg.SegmentSequence}
arr = seg.pixel_array
if arr.ndim == 2:
    arr = arr[None]
shared = seg.SharedFunctionalGroupsSequence[0]
rows, cols = int(seg.Rows), int(seg.Columns)
bad_refs, bad_pos, bad_pix, checked = 0, 0, 0, 0
seg_values = {}
seg_voxels = {}
for n, fg in enumerate(seg.PerFrameFunctionalGroupsSequence):
    segno = int(fg.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
    src = fg.DerivationImageSequence[0].SourceImageSequence[0]
    key = (src.ReferencedSOPInstanceUID, int(src.ReferencedFrameNumber) if 'ReferencedFrameNumber' in src else None)
    if key not in positions:
        bad_refs += 1
        continue
    ipp = np.array([float(x) for x in fg.PlanePositionSequence[0].ImagePositionPatient])
    if np.max(np.abs(ipp - np.array(positions[key]))) > 1e-3:
        bad_pos += 1
    po = fg.PlaneOrientationSequence[0] if 'PlaneOrientationSequence' in fg else shared.PlaneOrientationSequence[0]
    pm = shared.PixelMeasuresSequence[0]
    iop = np.array([float(x) for x in po.ImageOrientationPatient])
    dr, dc = (float(x) for x in pm.PixelSpacing)
    r, c = np.meshgrid(np.arange(rows), np.arange(cols), indexing='ij')
    lps = ipp[None, None, :] + c[..., None] * dc * iop[None, None, :3] + r[..., None] * dr * iop[None, None, 3:]
    ras = lps * np.array([-1, -1, 1])
    ijk = np.rint(ras @ inv[:3, :3].T + inv[:3, 3]).astype(int)
    under = mask[ijk[..., 0], ijk[..., 1], ijk[..., 2]]
    # The segment's value: the mask value most common under the SEG's set pixels.
    on = arr[n].astype(bool)
    if on.any():
        vals, counts = np.unique(under[on], return_counts=True)
        v = int(vals[np.argmax(counts)])
        seg_values.setdefault(segno, v)
    v = seg_values.get(segno)
    expected = under == v if v is not None else np.zeros_like(on)
    bad_pix += int(np.count_nonzero(expected != on))
    seg_voxels[segno] = seg_voxels.get(segno, 0) + int(np.count_nonzero(on))
    checked += 1

print(json.dumps({
    "frames": int(seg.NumberOfFrames), "checked": checked, "badRefs": bad_refs, "badPositions": bad_pos,
    "badPixels": bad_pix,
    "voxels": {labels[k]: [seg_voxels.get(k, 0), int(np.count_nonzero(mask == v))] for k, v in seg_values.items()}, "segmentValues": {labels[k]: v for k, v in seg_values.items()},
    "sopClass": str(seg.SOPClassUID), "bitsAllocated": int(seg.BitsAllocated), "type": str(seg.SegmentationType),
    "codes": [[str(s.SegmentedPropertyTypeCodeSequence[0].CodingSchemeDesignator), str(s.SegmentedPropertyTypeCodeSequence[0].CodeValue)] for s in seg.SegmentSequence],
}))
