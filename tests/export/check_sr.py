"""Independent reader for the SR tests: pydicom walks the content tree of a TID 1500 report, nibabel measures the mask.

usage: check_sr.py <sr.dcm> <mask.nii.gz>
Prints JSON: the document's SOP class and template, the evidence, per measurement group its tracking
identifier, volume and unit, referenced segment, source series, finding site and laterality; and the mask's
own volume in mL of each non-zero value (voxels x |det(affine)|, read by nibabel).
"""
import json
import sys

import nibabel as nib
import numpy as np
import pydicom

sr = pydicom.dcmread(sys.argv[1])
img = nib.load(sys.argv[2])
data = np.asarray(img.dataobj)
mm3 = abs(np.linalg.det(img.affine[:3, :3]))


def meaning(item):
    return item.ConceptNameCodeSequence[0].CodeMeaning


def find(seq, name):
    return [i for i in seq if meaning(i) == name]


out = {
    'sopClass': str(sr.SOPClassUID),
    'template': str(sr.ContentTemplateSequence[0].TemplateIdentifier),
    'title': meaning(sr),
    'evidenceSeries': [s.SeriesInstanceUID for st in sr.CurrentRequestedProcedureEvidenceSequence for s in st.ReferencedSeriesSequence],
    'patientId': str(sr.get('PatientID', '')),
    'studyUid': str(sr.StudyInstanceUID),
    'groups': [],
    'maskMl': {str(int(v)): float((data == v).sum() * mm3 / 1000) for v in np.unique(data) if v != 0},
}
measurements = find(sr.ContentSequence, 'Imaging Measurements')[0]
for g in measurements.ContentSequence:
    group = {'template': str(g.ContentTemplateSequence[0].TemplateIdentifier)}
    group['tracking'] = find(g.ContentSequence, 'Tracking Identifier')[0].TextValue
    num = find(g.ContentSequence, 'Volume')[0]
    mv = num.MeasuredValueSequence[0]
    group['volume'] = float(mv.NumericValue)
    group['unit'] = mv.MeasurementUnitsCodeSequence[0].CodeValue
    group['exact'] = float(mv.FloatingPointValue)
    ref = find(g.ContentSequence, 'Referenced Segment')
    if ref:
        r = ref[0].ReferencedSOPSequence[0]
        group['segment'] = {'sopClass': r.ReferencedSOPClassUID, 'sop': r.ReferencedSOPInstanceUID, 'number': int(r.ReferencedSegmentNumber)}
    group['sourceSeries'] = find(g.ContentSequence, 'Source series for segmentation')[0].UID
    site = find(g.ContentSequence, 'Finding Site')[0]
    group['site'] = site.ConceptCodeSequence[0].CodeMeaning
    lat = find(site.ContentSequence, 'Laterality') if 'ContentSequence' in site else []
    group['laterality'] = lat[0].ConceptCodeSequence[0].CodeMeaning if lat else None
    group['algorithm'] = [i.TextValue for i in num.ContentSequence if meaning(i) == 'Algorithm Name'] if 'ContentSequence' in num else []
    out['groups'].append(group)
print(json.dumps(out))
