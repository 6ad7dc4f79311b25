// Type-checked rules; no-floating-promises matters most here: a dropped promise is a lost message.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Folders that are services: each shows others only its index.ts (search when it lands). */
const SERVICES = ['gateway', 'logic', 'push', 'offline', 'sync', 'search'];
const LAYERS = {
  group: ['**/app/**', '**/test/**', '**/bench/**', '**/scripts/**'],
  message: 'Nothing imports app/, test/, bench/ or scripts/.',
};
/** For a file in service `self`: any other service's file but its index.ts is refused. */
const otherServicesInternals = (self) =>
  SERVICES.filter((other) => other !== self).map((other) => ({
    group: [`**/${other}/**`, `!**/${other}/index.ts`],
    message: `${self}/ reaches ${other}/ only through ${other}/index.ts: export what it needs there.`,
  }));
/** Tests and contract suites (test code), and the roots that compose or measure the services, import freely. */
const EXEMPT = ['app/**', 'test/**', 'bench/**', 'scripts/**', '**/*.test.ts', '**/*.contract.ts'];

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'proto/gen/',
      'web/dist/',
      '.engines/',
      'bench/results/',
      'client/imctl.js',
      'eslint.config.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // describe/it from node:test return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', { patterns: [LAYERS] }],
    },
  },
  // Service boundaries (decision 0022). A later block replaces the rule's options, so each repeats LAYERS.
  ...SERVICES.map((self) => ({
    files: [`${self}/**`],
    rules: { 'no-restricted-imports': ['error', { patterns: [LAYERS, ...otherServicesInternals(self)] }] },
  })),
  { files: EXEMPT, rules: { 'no-restricted-imports': 'off' } },
);
