// House style, read off the code as it was before Prettier arrived: single quotes, semicolons, trailing commas
// everywhere, parenthesised arrow parameters, and long lines. printWidth 160 is the widest that still reads well
// and matches the code's own line lengths (99 % of lines are ≤ 173 characters); narrower widths rewrap far more.
/** @type {import('prettier').Config} */
export default {
  printWidth: 160,
  singleQuote: true,
  semi: true,
  trailingComma: 'all',
  arrowParens: 'always',
  plugins: ['prettier-plugin-svelte'],
  // electron-builder.yml uses double quotes; keep YAML as it is written.
  overrides: [{ files: ['*.yml', '*.yaml'], options: { singleQuote: false } }],
};
