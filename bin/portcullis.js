#!/usr/bin/env node
// The one `portcullis` binary: runs the compiled CLI (npm run build writes dist/).
import { main } from '../dist/gateway/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`portcullis: ${err instanceof Error ? err.message : String(err)}\n`); process.exitCode = 1; },
);
