// Lint: TypeScript rules plus the process boundaries of ../shared/DESIGN.md (Layout).
import tseslint from 'typescript-eslint';

const nodeOnly = ['node:*', 'fs', 'path', 'os', 'child_process', 'worker_threads', 'electron', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'out/**', 'test-results/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // src/shared runs anywhere: no Node built-ins, no Electron, no DOM frameworks, no engine code.
    files: ['src/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: nodeOnly, message: 'src/shared runs anywhere: no Node, Electron or native imports.' },
          { group: ['react', 'react-dom', '**/main/**', '**/renderer/**'], message: 'src/shared imports nothing from main, renderer or UI frameworks.' },
        ],
      }],
      'no-restricted-globals': ['error', 'window', 'document', 'process', 'Buffer'],
    },
  },
  {
    // The host (window, security, routing) talks to the engine process in messages only, so that the
    // engine can crash, restart, or run on another machine: it never imports engine code.
    files: ['src/main/host/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['**/engine', '**/engine/**'], message: 'src/main/host talks to the engine over messages only; import the contract from src/shared instead.' }],
      }],
    },
  },
  {
    // The preload runs sandboxed: its require knows only 'electron'. Anything else it imports must be
    // dependency-free and inlined by the bundler (the names module).
    files: ['src/preload/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ regex: '^(?!electron$|\\.\\./shared/protocol-names$).*', message: 'A sandboxed preload may import only electron and src/shared/protocol-names.' }],
      }],
    },
  },
  {
    // The renderer never reaches into the engine or Node.
    files: ['src/renderer/**/*.ts', 'src/renderer/**/*.tsx'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: nodeOnly, message: 'The renderer has no Node access; go through the lab client.' },
          { group: ['**/main/**'], message: 'The renderer never imports src/main; use the contract in src/shared.' },
        ],
      }],
    },
  },
);
