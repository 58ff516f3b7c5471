// Generates the README's input and output-variable reference from tasks/BuildKitBuild/task.json, so the
// documentation cannot drift from the task. The generated Markdown lives between marker comments:
//   <!-- inputs:start --> ... <!-- inputs:end -->  and  <!-- outputs:start --> ... <!-- outputs:end -->
//
//   node scripts/input-reference.mjs                   prints both sections
//   node scripts/input-reference.mjs --write           rewrites them in README.md
//   node scripts/input-reference.mjs --check           exits 1 when README.md differs from task.json
//   --readme <file> and --task <file> name other files than the repository's (tests use this).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function option(name, fallback) {
  const at = process.argv.indexOf(name);
  return at >= 0 && process.argv[at + 1] ? process.argv[at + 1] : fallback;
}

/** Text safe inside one Markdown table cell. */
function cell(text) {
  return text
    .replace(/\r?\n+/g, ' ')
    .replace(/\|/g, '\\|')
    .trim();
}

function typeOf(input) {
  switch (input.type) {
    case 'connectedService:AzureRM':
      return 'Azure Resource Manager service connection';
    case 'connectedService:dockerregistry':
      return 'Docker Registry service connection';
    case 'multiLine':
      return 'multi-line';
    case 'filePath':
      return 'path';
    case 'pickList': {
      const values = Object.keys(input.options ?? {}).map((v) => `\`${v}\``);
      const editable = input.properties?.EditableOptions === 'True';
      if (values.length === 0) return editable ? 'pick list, any value' : 'pick list';
      return `${values.join(', ')}${editable ? ' or any value' : ''}`;
    }
    default:
      return input.type;
  }
}

function inputRow(input) {
  const names = [`\`${input.name}\``, ...(input.aliases ?? []).map((a) => `alias \`${a}\``)].join('<br>');
  const required = input.required ? ' **(required)**' : '';
  const fallback = input.defaultValue ? `\`${input.defaultValue}\`` : '–';
  const help = `**${cell(input.label ?? input.name)}.** ${cell(input.helpMarkDown ?? '')}`;
  return `| ${names}${required} | ${cell(typeOf(input))} | ${fallback} | ${help} |`;
}

/** The inputs section: one table per group, in the order of task.json. */
export function inputsSection(task) {
  const parts = [];
  for (const group of task.groups) {
    const inputs = task.inputs.filter((i) => i.groupName === group.name);
    if (inputs.length === 0) continue;
    parts.push(
      `#### ${group.displayName}`,
      '',
      '| Input | Type | Default | Description |',
      '|---|---|---|---|',
    );
    parts.push(...inputs.map(inputRow), '');
  }
  const ungrouped = task.inputs.filter((i) => !task.groups.some((g) => g.name === i.groupName));
  if (ungrouped.length > 0) {
    parts.push('#### Other', '', '| Input | Type | Default | Description |', '|---|---|---|---|');
    parts.push(...ungrouped.map(inputRow), '');
  }
  return parts.join('\n').trimEnd();
}

export function outputsSection(task) {
  const rows = task.outputVariables.map((o) => `| \`${o.name}\` | ${cell(o.description ?? '')} |`);
  return ['| Variable | Value |', '|---|---|', ...rows].join('\n');
}

const SECTIONS = { inputs: inputsSection, outputs: outputsSection };

/** README text with every marked section replaced; throws when a marker pair is missing. */
export function renderReadme(readme, task) {
  let text = readme;
  for (const [name, render] of Object.entries(SECTIONS)) {
    const start = `<!-- ${name}:start -->`;
    const end = `<!-- ${name}:end -->`;
    const from = text.indexOf(start);
    const to = text.indexOf(end);
    if (from < 0 || to < from) throw new Error(`README has no ${start} ... ${end} section`);
    text = `${text.slice(0, from + start.length)}\n${render(task)}\n${text.slice(to)}`;
  }
  return text;
}

function main() {
  const taskFile = option('--task', join(root, 'tasks', 'BuildKitBuild', 'task.json'));
  const readmeFile = option('--readme', join(root, 'README.md'));
  const task = JSON.parse(readFileSync(taskFile, 'utf8'));
  if (process.argv.includes('--write') || process.argv.includes('--check')) {
    const readme = readFileSync(readmeFile, 'utf8');
    const wanted = renderReadme(readme, task);
    if (process.argv.includes('--check')) {
      if (wanted !== readme) {
        console.error(`${readmeFile}: the input reference differs from ${taskFile}.`);
        console.error('Run `node scripts/input-reference.mjs --write` and commit the result.');
        process.exit(1);
      }
      console.log(`${readmeFile}: the input reference matches task.json`);
    } else if (wanted !== readme) {
      writeFileSync(readmeFile, wanted);
      console.log(`${readmeFile}: input reference rewritten`);
    }
    return;
  }
  process.stdout.write(`${inputsSection(task)}\n\n${outputsSection(task)}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
