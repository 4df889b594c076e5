// Preloaded into a child process (node --import) by tests that bound its memory: on exit, the peak resident set
// (kilobytes, from getrusage) is written to the file named by NV_PEAK_RSS_FILE.
import { writeFileSync } from 'node:fs';

const out = process.env.NV_PEAK_RSS_FILE;
if (out) process.on('exit', () => writeFileSync(out, String(process.resourceUsage().maxRSS)));
