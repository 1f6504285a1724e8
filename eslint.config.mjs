// Flat ESLint config. The dependency direction of the monorepo is enforced here:
//   native ← core ← datasets, backbones, afem, losses, metrics ← engine ← export ← experiments
// Library packages never import each other sideways (e.g. afem must not import backbones).
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

export default [
  { ignores: ['**/node_modules/**', '**/dist/**', '**/.nx/**', 'reports/**', 'datasets/**', 'runs/**', '**/api-docs/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.mts'],
    plugins: { '@nx': nx },
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            { sourceTag: 'type:native', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'type:core', onlyDependOnLibsWithTags: ['type:native'] },
            { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:core'] },
            { sourceTag: 'type:engine', onlyDependOnLibsWithTags: ['type:core', 'type:lib'] },
            { sourceTag: 'type:export', onlyDependOnLibsWithTags: ['type:core', 'type:lib', 'type:engine'] },
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:core', 'type:lib', 'type:engine', 'type:export'] },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.object.name='Math'][callee.property.name='random']",
          message: 'Use the seeded Rng from @clip-senet/core (determinism).',
        },
      ],
    },
  },
  {
    files: ['**/*.test.ts', '**/bench/**/*.ts', '**/scripts/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
];
