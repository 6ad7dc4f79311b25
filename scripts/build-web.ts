// Builds the web client and the admin console (web/) into web/dist/: one bundle per page with a content hash in its
// name (served as immutable), and each page's HTML pointing at its bundle. Run by `npm start` and `npm test`.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { build } from 'esbuild';

const ROOT = join(import.meta.dirname, '..');
const OUT = join(ROOT, 'web', 'dist');

/** The pages: each an HTML template in web/<page>/index.html and its entry point web/<page>/main.ts. */
const PAGES = ['chat', 'admin'] as const;

export async function buildWeb(): Promise<{ files: string[] }> {
  await rm(OUT, { recursive: true, force: true });
  await mkdir(join(OUT, 'assets'), { recursive: true });
  const result = await build({
    entryPoints: Object.fromEntries(PAGES.map((p) => [p, join(ROOT, 'web', p, 'main.ts')])),
    outdir: join(OUT, 'assets'),
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    inject: [join(ROOT, 'web', 'buffer-global.ts')],
    metafile: true,
    legalComments: 'linked',
    logLevel: 'warning',
  });
  const outputs = Object.entries(result.metafile.outputs);
  for (const page of PAGES) {
    const asset = (ext: string) =>
      outputs.find(([file, o]) => file.endsWith(ext) && o.entryPoint?.endsWith(`web/${page}/main.ts`))?.[0] ??
      outputs.find(
        ([file, o]) => file.endsWith(ext) && o.cssBundle === undefined && basename(file).startsWith(`${page}-`),
      )?.[0];
    const script = asset('.js');
    if (!script) throw new Error(`build-web: no bundle for ${page}`);
    const style = asset('.css');
    const template = await readFile(join(ROOT, 'web', page, 'index.html'), 'utf8');
    const tags =
      `<script type="module" src="/assets/${basename(script)}"></script>` +
      (style ? `<link rel="stylesheet" href="/assets/${basename(style)}">` : '');
    if (!template.includes('<!-- assets -->')) throw new Error(`web/${page}/index.html has no <!-- assets --> marker`);
    await writeFile(join(OUT, `${page}.html`), template.replace('<!-- assets -->', tags));
  }
  return { files: outputs.map(([file]) => file) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const started = Date.now();
  const { files } = await buildWeb();
  process.stdout.write(`web: built ${files.length} files into web/dist in ${Date.now() - started} ms\n`);
}
