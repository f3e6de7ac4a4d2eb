// Lint rules. Beyond typescript-eslint's recommended type-aware set, no-restricted-imports
// enforces the layering in docs/architecture.md: only src/runtime/ may import onnxruntime-node,
// and lower layers never import the layers above them.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const restrict = (patterns, message) => ({
  'no-restricted-imports': ['error', { patterns: [{ group: patterns, message }] }],
});

const ORT = ['onnxruntime-node', 'onnxruntime-common', 'onnxruntime-*'];
const LAYERS = {
  protocols: ['**/protocols/**'],
  server: ['**/server.js', '**/cli/**'],
  repository: ['**/repository/**'],
  scheduler: ['**/scheduler/**'],
  runtime: ['**/runtime/**'],
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'examples/**', 'bench/results/**', '.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
  { files: ['**/*.js'], languageOptions: { globals: { process: 'readonly', console: 'readonly' } } },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/runtime/**'],
    rules: restrict(ORT, 'only src/runtime/ may import onnxruntime-node (docs/architecture.md)'),
  },
  {
    files: [
      'src/tensor/**/*.ts',
      'src/errors/**/*.ts',
      'src/config/**/*.ts',
      'src/observability/**/*.ts',
      'src/pipeline/**/*.ts',
    ],
    rules: restrict(
      [...ORT, ...LAYERS.protocols, ...LAYERS.server, ...LAYERS.repository, ...LAYERS.scheduler, ...LAYERS.runtime],
      'this layer sits below runtime, scheduler, repository and the protocol edges (docs/architecture.md)',
    ),
  },
  {
    files: ['src/util/**/*.ts'],
    rules: restrict(
      [...ORT, ...LAYERS.protocols, ...LAYERS.server, ...LAYERS.repository, ...LAYERS.scheduler, ...LAYERS.runtime],
      'util/ holds small platform helpers and imports no layer of the project',
    ),
  },
  {
    files: ['src/runtime/**/*.ts'],
    rules: restrict(
      [...LAYERS.protocols, ...LAYERS.server, ...LAYERS.repository, ...LAYERS.scheduler],
      'runtime must not import the layers above it (docs/architecture.md)',
    ),
  },
  {
    files: ['src/scheduler/**/*.ts', 'src/core/**/*.ts'],
    rules: restrict(
      [...ORT, ...LAYERS.protocols, ...LAYERS.server, ...LAYERS.repository],
      'the scheduler and core know nothing of protocols or the repository',
    ),
  },
  {
    files: ['src/repository/**/*.ts'],
    rules: restrict([...ORT, ...LAYERS.protocols, ...LAYERS.server], 'the repository knows nothing of protocols'),
  },
  {
    files: ['src/loadgen/**/*.ts'],
    rules: restrict(
      [
        ...ORT,
        ...LAYERS.protocols,
        ...LAYERS.server,
        ...LAYERS.repository,
        ...LAYERS.scheduler,
        ...LAYERS.runtime,
        '**/bench/**',
      ],
      'the load generator is a client of the REST API: it uses tensor/ codecs, never the server (docs/architecture.md)',
    ),
  },
  {
    files: ['src/sql/**/*.ts'],
    rules: restrict(
      [...ORT, ...LAYERS.protocols, ...LAYERS.server, ...LAYERS.runtime],
      'the SQL engine reaches models through the repository and their schedulers, never onnxruntime or the protocol edges',
    ),
  },
  {
    files: ['src/batch-api/**/*.ts'],
    rules: restrict(
      [...ORT, ...LAYERS.server, ...LAYERS.runtime],
      'the batch API runs lines through the repository, the REST codecs and the scheduler; never the runtime or the server',
    ),
  },
  {
    files: ['src/batch/**/*.ts'],
    rules: restrict(
      [...ORT, ...LAYERS.protocols, ...LAYERS.server, ...LAYERS.repository, ...LAYERS.runtime],
      'batch jobs reach a model through its scheduler (the CLI loads it); never the repository, runtime or edges',
    ),
  },
  {
    files: ['src/generation/**/*.ts'],
    rules: restrict(
      [...ORT, ...LAYERS.protocols, ...LAYERS.server, ...LAYERS.repository, ...LAYERS.scheduler],
      'the generation engine knows nothing of HTTP or the repository; it reaches onnxruntime through runtime/decoder-*',
    ),
  },
  {
    files: ['src/protocols/**/*.ts'],
    rules: restrict(
      [...ORT, ...LAYERS.server, '**/runtime/session-worker*'],
      'protocol edges translate wire formats; they never touch onnxruntime',
    ),
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'tools/**/*.ts'],
    rules: { 'no-console': 'off', '@typescript-eslint/no-floating-promises': 'off' },
  },
);
