"""A DICOM-SEG written by hand with pydicom, unlike ours: the reader must not depend on dcmjs' layout.

Usage: make_seg.py spec.json. The spec names the source files with the mask slice k each one is, the
mask (raw uint8, x fastest) and its dims, the segments (number, label, mask values, optional CIELab and
"left_of" column limit), and the variations: binary or fractional, with or without DerivationImageSequence,
frames shuffled, a shift of the plane positions, a bogus referenced instance.
"""
import json
import random
import sys

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

SEG = "1.2.840.10008.5.1.4.1.1.66.4"
spec = json.load(open(sys.argv[1]))
nx, ny, nz = spec["dims"]
mask = np.fromfile(spec["mask"], dtype=np.uint8).reshape((nz, ny, nx))
sources = [(pydicom.dcmread(s["path"], stop_before_pixels=True), s["k"]) for s in spec["sources"]]
first = sources[0][0]
fractional = spec.get("fractional", False)


def code(value, scheme, meaning):
    c = Dataset()
    c.CodeValue, c.CodingSchemeDesignator, c.CodeMeaning = value, scheme, meaning
    return c


def ds_number(x):
    return f"{x:.6f}"


ds = Dataset()
meta = FileMetaDataset()
meta.MediaStorageSOPClassUID = SEG
meta.MediaStorageSOPInstanceUID = generate_uid()
meta.TransferSyntaxUID = ExplicitVRLittleEndian
ds.file_meta = meta
ds.is_little_endian, ds.is_implicit_VR = True, False
ds.SOPClassUID, ds.SOPInstanceUID = SEG, meta.MediaStorageSOPInstanceUID
ds.Modality = "SEG"
ds.PatientName, ds.PatientID = first.get("PatientName", ""), first.get("PatientID", "")
ds.StudyInstanceUID = first.StudyInstanceUID
ds.SeriesInstanceUID = generate_uid()
ds.SeriesNumber = 99
ds.InstanceNumber = 1
ds.SeriesDescription = "Hand-made SEG"
ds.FrameOfReferenceUID = spec.get("frame_of_reference", first.FrameOfReferenceUID)
ds.ImageType = ["DERIVED", "PRIMARY"]
ds.ContentLabel = "HAND"
ds.Rows, ds.Columns = first.Rows, first.Columns
ds.SamplesPerPixel = 1
ds.PhotometricInterpretation = "MONOCHROME2"
ds.PixelRepresentation = 0
ds.LossyImageCompression = "00"
if fractional:
    ds.SegmentationType, ds.SegmentationFractionalType, ds.MaximumFractionalValue = "FRACTIONAL", "PROBABILITY", 255
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
else:
    ds.SegmentationType = "BINARY"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 1, 1, 0
if spec.get("referenced_series", True):
    ref = Dataset()
    ref.SeriesInstanceUID = first.SeriesInstanceUID
    items = []
    for h, _ in sources:
        i = Dataset()
        i.ReferencedSOPClassUID, i.ReferencedSOPInstanceUID = h.SOPClassUID, h.SOPInstanceUID
        items.append(i)
    ref.ReferencedInstanceSequence = items
    ds.ReferencedSeriesSequence = [ref]

shared = Dataset()
po = Dataset()
po.ImageOrientationPatient = first.ImageOrientationPatient
pm = Dataset()
pm.PixelSpacing = first.PixelSpacing
pm.SliceThickness = first.get("SliceThickness", 1)
shared.PlaneOrientationSequence, shared.PixelMeasuresSequence = [po], [pm]
ds.SharedFunctionalGroupsSequence = [shared]

segments = []
for s in spec["segments"]:
    item = Dataset()
    item.SegmentNumber, item.SegmentLabel, item.SegmentAlgorithmType = s["number"], s["label"], "MANUAL"
    item.SegmentedPropertyCategoryCodeSequence = [code("85756007", "SCT", "Tissue")]
    item.SegmentedPropertyTypeCodeSequence = [code("85756007", "SCT", "Tissue")]
    if "lab" in s:
        item.RecommendedDisplayCIELabValue = s["lab"]
    segments.append(item)
ds.SegmentSequence = segments

frames = []
shift = spec.get("shift_mm", 0.0)
for h, k in sources:
    for s in spec["segments"]:
        inside = np.isin(mask[k], s["values"])
        if "left_of" in s:
            inside[:, s["left_of"]:] = False
        if not inside.any():
            continue
        fg = Dataset()
        pp = Dataset()
        pp.ImagePositionPatient = [ds_number(float(x) + shift) for x in h.ImagePositionPatient]
        fg.PlanePositionSequence = [pp]
        si = Dataset()
        si.ReferencedSegmentNumber = s["number"]
        fg.SegmentIdentificationSequence = [si]
        if spec.get("derivation", False):
            src = Dataset()
            src.ReferencedSOPClassUID = h.SOPClassUID
            src.ReferencedSOPInstanceUID = spec.get("bogus_instance") or h.SOPInstanceUID
            src.PurposeOfReferenceCodeSequence = [code("121322", "DCM", "Source image for image processing operation")]
            der = Dataset()
            der.SourceImageSequence = [src]
            der.DerivationCodeSequence = [code("113076", "DCM", "Segmentation")]
            fg.DerivationImageSequence = [der]
        frames.append((fg, inside))

random.Random(7).shuffle(frames)
ds.NumberOfFrames = len(frames)
ds.PerFrameFunctionalGroupsSequence = [fg for fg, _ in frames]
if fractional:
    # Inside: 80 %; a band of 40 % beside it, which a 50 % threshold must leave out.
    planes = []
    for _, inside in frames:
        p = np.where(inside, 204, 0).astype(np.uint8)
        p[np.roll(inside, 3, axis=1) & ~inside] = 102
        planes.append(p.ravel())
    data = np.concatenate(planes).tobytes()
else:
    data = np.packbits(np.concatenate([inside.ravel() for _, inside in frames]).astype(np.uint8), bitorder="little").tobytes()
if len(data) % 2:
    data += b"\0"
ds.PixelData = data
ds["PixelData"].VR = "OB"
ds.save_as(spec["out"], write_like_original=False)
print(len(frames))
