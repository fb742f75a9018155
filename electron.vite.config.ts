// electron-vite: main, preload and renderer; the renderer's settings are shared with browser mode.
import { defineConfig, externalizeDepsPlugin } from 'electron-vite';
import { fileURLToPath } from 'node:url';
import { rendererConfig } from './vite.renderer.config';

export default defineConfig({
  main: {
    plugins: [externalizeDepsPlugin()],
    build: { rollupOptions: { input: { index: fileURLToPath(new URL('./src/main/index.ts', import.meta.url)) } } },
  },
  preload: {
    plugins: [externalizeDepsPlugin({ exclude: ['zod'] })],
    build: { rollupOptions: { input: { index: fileURLToPath(new URL('./src/preload/index.ts', import.meta.url)) }, output: { format: 'cjs', entryFileNames: '[name].cjs' } } },
  },
  renderer: {
    ...rendererConfig,
    build: { ...rendererConfig.build, rollupOptions: { input: fileURLToPath(new URL('./src/renderer/index.html', import.meta.url)) } },
  },
});
