// Builds the web console into dist/web-player/: one bundle (esbuild) and one stylesheet (xterm's
// plus ours). Part of `npm run build`; nothing is fetched at run time.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'web-player');
mkdirSync(join(out), { recursive: true });
await build({
  entryPoints: [join(root, 'web-player', 'src', 'main.ts')], bundle: true, minify: true, sourcemap: false,
  format: 'iife', target: ['chrome120'], outfile: join(out, 'app.js'), logLevel: 'warning',
});
writeFileSync(join(out, 'app.css'), readFileSync(join(root, 'node_modules', '@xterm', 'xterm', 'css', 'xterm.css'), 'utf8') + '\n' + readFileSync(join(root, 'web-player', 'style.css'), 'utf8'));
copyFileSync(join(root, 'web-player', 'index.html'), join(out, 'index.html'));
