// Builds the renderer for browser mode (out/renderer); electron.vite.config.ts reuses these settings.
import { defineConfig, type UserConfig } from 'vite';
import { fileURLToPath } from 'node:url';

export const rendererConfig: UserConfig = {
  root: fileURLToPath(new URL('./src/renderer', import.meta.url)),
  base: './',
  esbuild: { jsx: 'automatic' },
  build: { outDir: fileURLToPath(new URL('./out/renderer', import.meta.url)), emptyOutDir: true, chunkSizeWarningLimit: 2000 },
};

export default defineConfig(rendererConfig);
