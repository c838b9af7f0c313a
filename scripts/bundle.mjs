// `build` of an app: one CommonJS file per entry point with every @meridian/* workspace package
// inlined (they ship TypeScript source) and third-party packages left to node_modules.
import { build } from 'esbuild';
import path from 'node:path';

const entry = process.argv[2] ?? 'src/main.ts';
const outfile = path.join('dist', `${path.basename(entry, '.ts')}.js`);

const externalThirdParty = {
  name: 'external-third-party',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith('@meridian/') ? undefined : { path: args.path, external: true }));
  },
};

await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'cjs',
  sourcemap: true,
  logLevel: 'warning',
  plugins: [externalThirdParty],
});
console.log(`built ${path.relative(process.cwd(), outfile)}`);
