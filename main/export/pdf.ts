import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { writeFileAtomic } from '../util/atomic-write.js';
import { findChromium } from '../util/chromium.js';

const run = promisify(execFile);

export type PdfOutcome = { written: true; browser: string; bytes: number } | { written: false; reason: string };

/**
 * Prints an HTML page to PDF with headless Chromium (`--print-to-pdf`), the browser the app already uses for its
 * window and tests: no PDF library to keep. Where no Chromium is found, or it fails, nothing is written and the
 * reason comes back, so the caller keeps the HTML and says why there is no PDF.
 */
export async function htmlToPdf(
  html: string,
  out: string,
  options: { overwrite?: boolean; browser?: string | null; timeoutMs?: number } = {},
): Promise<PdfOutcome> {
  const browser = options.browser === undefined ? findChromium() : options.browser;
  if (!browser) return { written: false, reason: 'no Chromium or Chrome found (install chromium, or set NEUROVERSE_BROWSER): the report is HTML only' };
  const work = await mkdtemp(join(tmpdir(), 'neuroverse-pdf-'));
  try {
    const page = join(work, 'report.html');
    const pdf = join(work, 'report.pdf');
    await writeFile(page, html);
    const args = [
      '--headless',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${join(work, 'profile')}`,
      '--no-pdf-header-footer',
      `--print-to-pdf=${pdf}`,
      pathToFileURL(page).href,
    ];
    // As for the app window: Chromium refuses to run as root with its sandbox on; the page is our own file.
    if (process.getuid?.() === 0) args.unshift('--no-sandbox');
    try {
      await run(browser, args, { timeout: options.timeoutMs ?? 60_000 });
    } catch (err) {
      return { written: false, reason: `${browser} could not print the report (${String((err as Error).message).split('\n')[0]}): the report is HTML only` };
    }
    let bytes: Buffer;
    try {
      bytes = await readFile(pdf);
    } catch {
      return { written: false, reason: `${browser} wrote no PDF: the report is HTML only` };
    }
    if (bytes.subarray(0, 5).toString('latin1') !== '%PDF-')
      return { written: false, reason: `${browser} wrote something that is not a PDF: the report is HTML only` };
    await writeFileAtomic(out, bytes, { overwrite: options.overwrite });
    return { written: true, browser, bytes: bytes.length };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
