// Builds the published package: ESM (NodeNext) and CJS from the same sources, each with its own .d.ts,
// so that `exports` can point `import` and `require` at type declarations of the matching module kind.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const run = (...args) => execFileSync(process.execPath, [tsc, ...args], { stdio: 'inherit' });

rmSync('dist', { recursive: true, force: true });
run('-p', 'tsconfig.build.json');
run('-p', 'tsconfig.build.json', '--module', 'CommonJS', '--moduleResolution', 'Node10', '--outDir', 'dist/cjs');
mkdirSync('dist/cjs', { recursive: true });
writeFileSync('dist/cjs/package.json', '{ "type": "commonjs" }\n');
