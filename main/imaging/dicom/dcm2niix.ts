import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InputError } from '../../common/errors.js';
import { parseNifti } from '../nifti/read.js';
import type { Volume } from '../volume.js';
import type { PixelHeader } from './header.js';

interface EmscriptenFs {
  mkdir(path: string): void;
  writeFile(path: string, data: Uint8Array): void;
  readdir(path: string): string[];
  readFile(path: string): Uint8Array;
}
interface Dcm2niixModule {
  FS: EmscriptenFs;
  callMain(args: string[]): number;
}
type ModuleFactory = (overrides: Record<string, unknown>) => Promise<Dcm2niixModule>;

let factory: Promise<ModuleFactory> | undefined;

/**
 * dcm2niix compiled to WebAssembly (@niivue/dcm2niix). Its packaged entry point needs a Web Worker,
 * so the Emscripten module underneath is imported directly; it runs in Node with an in-memory FS.
 * The JPEG build is used because it also decodes JPEG-lossless and JPEG-LS compressed series.
 */
function loadFactory(): Promise<ModuleFactory> {
  if (!factory) {
    // The package's "exports" hide dist/dcm2niix.jpeg.js, so find the package folder the way Node would.
    const require = createRequire(import.meta.url);
    const dirs = require.resolve.paths('@niivue/dcm2niix') ?? [];
    const file = dirs.map((d) => join(d, '@niivue', 'dcm2niix', 'dist', 'dcm2niix.jpeg.js')).find((p) => existsSync(p));
    if (!file) throw new Error('@niivue/dcm2niix is not installed (run the setup script)');
    const url = pathToFileURL(file).href;
    factory = import(url).then((m) => m.default as ModuleFactory);
  }
  return factory;
}

export interface Dcm2niixResult {
  volumes: { name: string; volume: Volume }[];
  log: string[];
}

/** Converts the files of one series; each output NIfTI becomes a volume (echoes, phase maps, ...). */
export async function runDcm2niix(headers: PixelHeader[], label: string): Promise<Dcm2niixResult> {
  const create = await loadFactory();
  const log: string[] = [];
  // A fresh instance per conversion: dcm2niix's main() keeps global state and the FS would keep old files.
  const mod = await create({ print: (s: string) => log.push(s), printErr: (s: string) => log.push(s), noExitRuntime: true });
  mod.FS.mkdir('/in');
  mod.FS.mkdir('/out');
  headers.forEach((h, i) => mod.FS.writeFile(`/in/f${String(i).padStart(6, '0')}.dcm`, h.file.data));
  let code: number;
  try {
    code = mod.callMain(['-z', 'n', '-b', 'n', '-f', '%s_%p', '-o', '/out', '/in']);
  } catch (err) {
    throw new InputError(label, `dcm2niix failed: ${(err as Error).message}`);
  }
  const outputs = mod.FS.readdir('/out')
    .filter((f) => f.endsWith('.nii'))
    .sort();
  if (code !== 0 || outputs.length === 0) {
    const why =
      log
        .filter((l) => /error|warning/i.test(l))
        .slice(-3)
        .join(' | ') || `exit code ${code}`;
    throw new InputError(label, `dcm2niix could not convert the series (${why})`);
  }
  const first = headers[0];
  const volumes = outputs.map((name) => {
    const v = parseNifti(mod.FS.readFile(`/out/${name}`), `${label} (${name})`);
    v.description = first.seriesDescription || v.description;
    v.source = {
      kind: 'dicom',
      path: label,
      reader: 'dcm2niix (WASM)',
      seriesInstanceUid: first.seriesInstanceUid,
      studyInstanceUid: first.studyInstanceUid,
      dicom: { ...first.scanner, modality: first.modality, seriesNumber: first.seriesNumber ?? '' },
    };
    return { name, volume: v };
  });
  return { volumes, log };
}
