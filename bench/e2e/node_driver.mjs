// node_driver.mjs - the Node side of `make bench-e2e`: one job through @chatbotkit/sdk.
//
//   node bench/e2e/node_driver.mjs --modules DIR --base URL --user U --job list|stream|churn
//        [--take 100] [--count 100]
//
// The secret comes from CBK_SECRET; TLS trust from NODE_EXTRA_CA_CERTS (Node's own
// variable). The SDK is imported from DIR/@chatbotkit/sdk (build/bench-e2e/node_modules),
// its ESM build, as an application would. Output on stdout, one line each:
//   list, stream   the id of every token, in the order received
//   churn          "created <id>" x count, then "deleted <id>" x count
// Exit status 0 on success; an error goes to stderr with status 1.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
};
const MODULES = opt('--modules', 'build/bench-e2e/node_modules');
const BASE = opt('--base', '');
const USER = opt('--user', 'bench-user');
const JOB = opt('--job', 'list');
const TAKE = Number(opt('--take', '100'));
const COUNT = Number(opt('--count', '100'));

function sdkEntry() {
  const dir = path.join(MODULES, '@chatbotkit', 'sdk');
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const pick = (t) => (typeof t === 'string' ? t : t && typeof t === 'object' ? pick(t.import) || pick(t.default) : undefined);
  const rel = pick(pkg.exports && pkg.exports['.']);
  if (!rel) throw new Error(`@chatbotkit/sdk ${pkg.version}: no ESM entry`);
  return pathToFileURL(path.join(dir, rel)).href;
}

// Buffered output: one write per 64 KiB, as a careful program would.
let out = [];
let outLen = 0;
const emit = (line) => {
  out.push(line);
  outLen += line.length + 1;
  if (outLen >= 65536) flush();
};
const flush = () => {
  if (out.length) fs.writeSync(1, out.join('\n') + '\n');
  out = [];
  outLen = 0;
};

async function main() {
  const { ChatBotKit } = await import(sdkEntry());
  const tokens = new ChatBotKit({ secret: process.env.CBK_SECRET, baseUrl: BASE }).partner.user.token;
  if (JOB === 'list') {
    // every page, following cursors, until an empty page or no cursor (as cbk_token_list_all)
    let cursor;
    for (;;) {
      const page = await tokens.list(USER, cursor === undefined ? { take: TAKE } : { take: TAKE, cursor });
      for (const t of page.items) emit(t.id);
      if (!page.items.length || !page.cursor || page.cursor === cursor) break;
      cursor = page.cursor;
    }
  } else if (JOB === 'stream') {
    for await (const ev of tokens.list(USER, {}).stream()) if (ev && ev.type === 'item') emit(ev.data.id);
  } else if (JOB === 'churn') {
    const ids = [];
    for (let i = 0; i < COUNT; i++) {
      const made = await tokens.create(USER, {});
      ids.push(made.id);
      emit('created ' + made.id);
    }
    for (const id of ids) emit('deleted ' + (await tokens.delete(USER, id)).id);
  } else {
    throw new Error('unknown job ' + JOB);
  }
  flush();
}

main().catch((e) => {
  flush();
  process.stderr.write(`node_driver: ${e && e.name}: ${e && e.message}\n`);
  process.exit(1);
});
