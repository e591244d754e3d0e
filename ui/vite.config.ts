import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));
const outDir = fileURLToPath(new URL('../dist-ui/cpanel', import.meta.url));

/** Text worth compressing; below MIN_SIZE the headers outweigh the saving. */
const COMPRESSIBLE = /\.(js|mjs|css|svg|json|txt)$/i;
const MIN_SIZE = 1024;

/**
 * Writes `.br` and `.gz` beside each text file: the static plugin, which serves the panel, sends
 * precompressed siblings and never compresses per request. index.html is skipped, because the
 * server renders its own copy (mount path, settings) and serves that.
 */
function precompress(dir: string): Plugin {
  const walk = (folder: string): string[] =>
    readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? walk(path.join(folder, entry.name)) : [path.join(folder, entry.name)],
    );
  return {
    name: 'precompress',
    apply: 'build',
    closeBundle() {
      for (const file of walk(dir)) {
        if (!COMPRESSIBLE.test(file)) continue;
        const body = readFileSync(file);
        if (body.length < MIN_SIZE) continue;
        writeFileSync(
          `${file}.br`,
          brotliCompressSync(body, {
            params: { [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY },
          }),
        );
        writeFileSync(`${file}.gz`, gzipSync(body, { level: 9 }));
      }
    },
  };
}

// Relative base: the server injects <base href="<mountPath>/"> into index.html, so one build
// works under any mount path. Everything is bundled; nothing is fetched from elsewhere.
export default defineConfig({
  root: here,
  base: './',
  plugins: [react(), precompress(outDir)],
  build: {
    outDir,
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: 'es2022',
    reportCompressedSize: false,
  },
});
