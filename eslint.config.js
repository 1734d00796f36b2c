// ESLint flat config: typescript-eslint's type-checked rules for the harness.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['harness/dist/**', 'node_modules/**', 'results/**'] },
  {
    files: ['harness/src/**/*.ts', 'harness/test/**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        project: './harness/tsconfig.json',
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // `const { dropped: _x, ...rest } = o` is how the tests build an object without one key.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
    },
  },
  {
    files: ['harness/test/**/*.ts'],
    rules: {
      // tap ends a subtest when its callback's promise settles; `async` without `await` is how a synchronous test ends.
      '@typescript-eslint/require-await': 'off',
    },
  },
);
