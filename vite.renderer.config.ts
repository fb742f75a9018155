// Builds the renderer for browser mode (out/renderer); electron.vite.config.ts reuses these settings.
import { defineConfig, type UserConfig } from 'vite';
import { fileURLToPath } from 'node:url';

export const rendererConfig: UserConfig = {
  root: fileURLToPath(new URL('./src/renderer', import.meta.url)),
  base: './',
  esbuild: { jsx: 'automatic' },
  // No inlining: the CSP allows scripts (the AudioWorklet module too) only from 'self', not data: URLs.
  build: { outDir: fileURLToPath(new URL('./out/renderer', import.meta.url)), emptyOutDir: true, chunkSizeWarningLimit: 2000, assetsInlineLimit: 0 },
};

export default defineConfig(rendererConfig);
