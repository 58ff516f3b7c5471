// Renders a build summary (the Markdown the task uploads with ##vso[task.uploadsummary]) into a PNG for
// the Marketplace page, framed like the run's summary tab, with headless Chromium. Not part of CI: run
// it by hand after a test run produced a real summary, and commit the picture.
//
//   node scripts/render-summary.mjs <summary.md> [images/summary.png] [--width 880] [--height 0] [--title T]
//
// --height 0 (the default) sizes the window from the content. CHROMIUM names the browser binary
// (default: chromium). Only the subset of Markdown the summary uses is rendered: headings, tables,
// paragraphs, fenced code, inline code, bold and <br>.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

function option(name, fallback) {
  const at = process.argv.indexOf(name);
  return at >= 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1] : fallback;
}

function escapeHtml(text) {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Inline Markdown: `code` (also ``double``), **bold**, <br>; everything else is text. */
export function inline(text) {
  let html = '';
  let rest = text;
  while (rest.length > 0) {
    const code = /^(`+)\s?([\s\S]*?)\s?\1(?!`)/.exec(rest);
    if (code) {
      html += `<code>${escapeHtml(code[2] ?? '')}</code>`;
      rest = rest.slice(code[0].length);
      continue;
    }
    const bold = /^\*\*([^*]+)\*\*/.exec(rest);
    if (bold) {
      html += `<strong>${inline(bold[1] ?? '')}</strong>`;
      rest = rest.slice(bold[0].length);
      continue;
    }
    if (/^<br\s*\/?>/i.test(rest)) {
      html += '<br>';
      rest = rest.replace(/^<br\s*\/?>/i, '');
      continue;
    }
    const plain = /^[^`*<]+|^[`*<]/.exec(rest)?.[0] ?? rest;
    html += escapeHtml(plain.replace(/\\\|/g, '|'));
    rest = rest.slice(plain.length);
  }
  return html;
}

function cells(row) {
  return row
    .trim()
    .replace(/^\||\|$/g, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
}

/** Block Markdown to HTML, for the summary's subset. */
export function markdownToHtml(markdown) {
  const lines = markdown.replace(/\r\n/g, '\n').split('\n');
  const out = [];
  for (let i = 0; i < lines.length;) {
    const line = lines[i] ?? '';
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      const level = heading[1].length;
      out.push(`<h${level}>${inline(heading[2])}</h${level}>`);
      i++;
    } else if (line.startsWith('```')) {
      const body = [];
      for (i++; i < lines.length && !(lines[i] ?? '').startsWith('```'); i++) body.push(lines[i]);
      i++;
      out.push(`<pre><code>${escapeHtml(body.join('\n'))}</code></pre>`);
    } else if (line.trim().startsWith('|') && /^\s*\|?\s*:?-{3,}/.test(lines[i + 1] ?? '')) {
      const head = cells(line);
      const rows = [];
      for (i += 2; i < lines.length && (lines[i] ?? '').trim().startsWith('|'); i++)
        rows.push(cells(lines[i]));
      const hasHead = head.some((c) => c !== '');
      out.push('<table>');
      if (hasHead) out.push(`<thead><tr>${head.map((c) => `<th>${inline(c)}</th>`).join('')}</tr></thead>`);
      out.push('<tbody>');
      for (const row of rows)
        out.push(`<tr>${row.map((c, n) => `<td class="c${n}">${inline(c)}</td>`).join('')}</tr>`);
      out.push('</tbody></table>');
    } else if (line.trim() === '') {
      i++;
    } else {
      const para = [];
      for (; i < lines.length && (lines[i] ?? '').trim() !== '' && !/^(#|```|\|)/.test(lines[i] ?? ''); i++) {
        para.push(lines[i]);
      }
      out.push(`<p>${inline(para.join(' '))}</p>`);
    }
  }
  return out.join('\n');
}

const STYLE = `
  * { box-sizing: border-box; }
  body { margin: 0; background: #f8f8f8; font: 14px/1.5 "Segoe UI", "Noto Sans", "DejaVu Sans", sans-serif; color: #201f1e; }
  .tabs { background: #fff; border-bottom: 1px solid #e1dfdd; padding: 0 24px; display: flex; gap: 24px; }
  .tabs span { padding: 12px 0 10px; color: #605e5c; }
  .tabs .on { color: #201f1e; font-weight: 600; border-bottom: 2px solid #0078d4; }
  .card { background: #fff; margin: 16px 24px; border-radius: 4px; box-shadow: 0 1px 3px rgba(0,0,0,.12); }
  .card > header { padding: 12px 20px; border-bottom: 1px solid #edebe9; font-weight: 600; font-size: 15px; }
  .body { padding: 4px 20px 16px; }
  h3 { font-size: 17px; margin: 12px 0 10px; }
  table { border-collapse: collapse; width: 100%; }
  td, th { border-bottom: 1px solid #edebe9; padding: 7px 10px; text-align: left; vertical-align: top; }
  td.c0 { color: #605e5c; width: 130px; white-space: nowrap; }
  code { font: 12.5px "Cascadia Mono", "DejaVu Sans Mono", monospace; background: #f3f2f1; padding: 1px 4px; border-radius: 3px; }
  pre { background: #f3f2f1; padding: 10px 12px; border-radius: 4px; overflow: hidden; }
  pre code { padding: 0; background: none; }
  p { margin: 12px 0 6px; }
`;

export function page(markdown, title) {
  return `<!doctype html><html><head><meta charset="utf-8"><style>${STYLE}</style></head><body>
<nav class="tabs"><span>Summary</span><span>Tests</span><span class="on">Extensions</span></nav>
<section class="card"><header>${escapeHtml(title)}</header><div class="body">
${markdownToHtml(markdown)}
</div></section></body></html>`;
}

function main() {
  const positional = process.argv
    .slice(2)
    .filter((a, i, all) => !a.startsWith('--') && !all[i - 1]?.startsWith('--'));
  const [input, output = 'images/summary.png'] = positional;
  if (!input) {
    console.error(
      'usage: node scripts/render-summary.mjs <summary.md> [out.png] [--width 880] [--height 0] [--title T]',
    );
    process.exit(2);
  }
  const markdown = readFileSync(input, 'utf8');
  const width = Number(option('--width', '880'));
  const lineCount = markdown.split('\n').length;
  const height = Number(option('--height', '0')) || 130 + lineCount * 25;
  const title = option('--title', basename(input));
  const dir = mkdtempSync(join(tmpdir(), 'bkb-summary-'));
  try {
    const html = join(dir, 'summary.html');
    writeFileSync(html, page(markdown, title));
    const target = resolve(output);
    execFileSync(
      process.env.CHROMIUM ?? 'chromium',
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--hide-scrollbars',
        '--force-device-scale-factor=1',
        `--user-data-dir=${join(dir, 'profile')}`,
        `--screenshot=${target}`,
        `--window-size=${width},${height}`,
        pathToFileURL(html).href,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 },
    );
    console.log(`rendered ${input} into ${target} (${width}x${height}, ${statSync(target).size} bytes)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) main();
