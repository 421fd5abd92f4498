// ESLint (flat config): typescript-eslint's type-aware recommended rules, with the two
// promise rules a message broker lives by made explicit. Run by `npm test`.
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    // test/consumer/fixture is compiled by the consumer app's own tsc, next to the README's module
    ignores: ['**/node_modules/', '**/dist/', 'test/consumer/fixture/', 'bench/results/', '**/*.js', '**/*.mjs', '**/*.cjs'],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      // The root tsconfig.json covers tests, examples, apps and bench; each package's own covers its src.
      parserOptions: { project: ['./tsconfig.json', './libs/*/tsconfig.json'], tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // Public methods are `async` for their contract (always a promise, a throw becomes a
      // rejection) even where the body has nothing to await yet.
      '@typescript-eslint/require-await': 'off',
      // `_name` parameters document a handler's signature without using every argument.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // Tests read raw pg rows and use Jest's asymmetric matchers, both typed `any`;
    // the library and app code keep these rules.
    files: ['**/*.spec.ts', 'test/**/*.ts', 'libs/*/test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
    },
  },
);
