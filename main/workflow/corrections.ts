import { InputError } from '../common/errors.js';
import { parseNifti, readNifti, spatialDims, type Volume } from '../imaging/index.js';
import type { LibraryService } from '../library/library-service.js';
import type { PairInfo } from '../library/types.js';
import type { VolumeStore } from '../session/volume-store.js';
import { labelCentroids, remapCorrected, savedLabelValues, splittableValues } from './corrected-labels.js';
import { labelStats } from './orchestrate-run.js';
import type { ResultOrigin } from './result-origin.js';
import type { UpdatedLabelVolume } from './types.js';

/** What a correction needs of the app: the open volumes, the library, and where this session's results came from. */
export interface CorrectionServices {
  volumes: VolumeStore;
  library: LibraryService;
  /** By volume id; a corrected copy is added with its original's origin. */
  origins: Map<string, ResultOrigin>;
}

/**
 * A corrected label map (NIfTI bytes, e.g. the viewer's drawing layer) for an open label volume: it must
 * have the same voxel grid; it is opened as a new label volume with the original's geometry, so that
 * it can be stored as a pair with the target it was drawn on.
 */
export function updateLabelVolume(services: CorrectionServices, volumeId: string, nifti: Uint8Array, name?: string): UpdatedLabelVolume {
  const original = services.volumes.get(volumeId);
  const originalInfo = services.volumes.info(volumeId);
  if (!(nifti instanceof Uint8Array) || nifti.byteLength === 0) throw new InputError(undefined, 'the corrected label map arrived without bytes', 'usage');
  const edited = parseNifti(nifti, name ?? 'corrected label map');
  const a = spatialDims(original);
  const b = spatialDims(edited);
  if (a.some((d, k) => d !== b[k]) || (edited.dims[3] ?? 1) !== 1) {
    throw new InputError(name, `corrected label map is ${edited.dims.join('×')}, but ${originalInfo.name} is ${a.join('×')}`);
  }
  const data = new Uint8Array(edited.data.length);
  for (let i = 0; i < data.length; i++) {
    const v = Math.round(edited.data[i] * edited.slope + edited.intercept);
    data[i] = v > 0 && v < 256 ? v : 0;
  }
  const volume: Volume = {
    dims: a,
    spacing: original.spacing.slice(0, 3),
    affine: original.affine.map((r) => [...r]),
    data,
    slope: 1,
    intercept: 0,
    description: `${original.description} (corrected)`.slice(0, 79),
    source: { kind: 'memory' },
    xformCodes: original.xformCodes,
  };
  const origin = services.origins.get(volumeId);
  const info = services.volumes.add(volume, `${originalInfo.name.replace(/ \(corrected\)$/, '')} (corrected)`, 'label');
  if (origin) services.origins.set(info.id, { ...origin, provenance: { ...origin.provenance, type: 'SEMIAUTOMATIC' } });
  return {
    volumeId: info.id,
    labels: labelStats(
      volume,
      origin?.structures.map((s) => s.name),
    ),
  };
}

/**
 * Stores the target and a corrected result as a new pair of the set that produced it (or `setName`).
 * The result's values 1..n (one per structure, as the drawing layer holds them) are mapped back to the
 * set's vocabulary (corrected-labels.ts): structures run apart stay apart, and a structure run on several
 * values (left and right hippocampus as one) is split by where the set's label maps put each value.
 * The target must be the volume the result was computed on.
 */
export async function addCorrectedPair(services: CorrectionServices, correctedVolumeId: string, setName?: string): Promise<PairInfo> {
  const origin = services.origins.get(correctedVolumeId);
  if (!origin) throw new InputError(undefined, 'that volume is not the result of a run in this session', 'not-found');
  const library = await services.library.library();
  const set = library.requireSet(setName ?? origin.setName);
  const mask = services.volumes.get(correctedVolumeId);
  const values = savedLabelValues(origin.structures, set.task.labels);
  // Where a structure stands for several values, the set's own label maps say where each one lies.
  const splits = splittableValues(origin.structures, set.task.labels);
  const wanted = [...new Set(splits.flatMap((v) => v ?? []))];
  async function* labelMaps() {
    for (const p of set.pairs) yield await readNifti(p.label.path);
  }
  const centroids = wanted.length ? await labelCentroids(labelMaps(), wanted) : new Map();
  const out = remapCorrected(
    mask,
    values,
    splits.map((v) => (v && v.every((x) => centroids.has(x)) ? v.map((x) => ({ value: x, at: centroids.get(x)! })) : null)),
  );
  const remapped = services.volumes.add(
    { ...mask, data: out, description: `${mask.description}`.slice(0, 79) },
    `${services.volumes.info(correctedVolumeId).name} · ${set.name}`,
    'label',
  );
  return services.library.addPair({
    set: set.name,
    task: set.task.name,
    scanner: set.scanner.name,
    imageVolumeId: origin.targetVolumeId,
    labelVolumeId: remapped.id,
  });
}
