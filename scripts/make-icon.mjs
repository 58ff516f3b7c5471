// Draws the icons: three stacked image layers being built, with an arrow pushing them up to a
// registry, on a rounded Azure-blue tile. The extension's icon is 128x128 (images/icon.png, the
// Marketplace's size); each task ships a 32x32 icon.png next to its task.json, the size the pipeline
// editors show. Pure Node: shapes are signed distance functions on a 128-unit canvas, rendered at
// either size with supersampling, encoded as an RGBA PNG with zlib. BKB_ICON_DIR writes them under
// another folder than the checkout (the packaging test compares them with the committed ones).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { root, taskNames } from './versions.mjs';

/** The canvas the shapes are drawn on, in units; a picture of `size` pixels samples it scaled. */
const CANVAS = 128;

const roundedBox = (x, y, cx, cy, hw, hh, r) => {
  const dx = Math.abs(x - cx) - hw + r;
  const dy = Math.abs(y - cy) - hh + r;
  return Math.hypot(Math.max(dx, 0), Math.max(dy, 0)) + Math.min(Math.max(dx, dy), 0) - r;
};
// A flat rhombus: one image layer seen in isometric view.
const layer = (x, y, cx, cy) => (Math.abs(x - cx) / 34 + Math.abs(y - cy) / 13 - 1) * 12;
const arrow = (x, y) => {
  const shaft = roundedBox(x, y, 96, 40, 4, 14, 2);
  const head = Math.max((Math.abs(x - 96) - (y - 14) * 0.85) * 0.75, y - 33);
  return Math.min(shaft, head);
};

/** Colour (r, g, b, a in 0..1) of one sample point. */
function shade(x, y) {
  if (roundedBox(x, y, 64, 64, 62, 62, 22) > 0) return [0, 0, 0, 0];
  const t = (x + y) / 256;
  let colour = [0.0 + 0.02 * t, 0.47 - 0.12 * t, 0.83 - 0.2 * t, 1];
  const layers = [
    [58, 92, [0.55, 0.78, 1.0]],
    [58, 74, [0.8, 0.9, 1.0]],
    [58, 56, [1, 1, 1]],
  ];
  for (const [cx, cy, rgb] of layers) {
    const d = layer(x, y, cx, cy);
    if (d < 2.2 && d >= 0) colour = [0.0, 0.3, 0.6, 1]; // outline separating stacked layers
    if (d < 0) colour = [...rgb, 1];
  }
  if (arrow(x, y) < 0) colour = [1, 0.76, 0.2, 1];
  return colour;
}

/** RGBA rows of a size x size picture, each sample point averaging (samples x samples) sub-points. */
function render(size, samples) {
  const scale = CANVAS / size;
  const rows = [];
  for (let py = 0; py < size; py++) {
    const row = Buffer.alloc(1 + size * 4);
    for (let px = 0; px < size; px++) {
      const sum = [0, 0, 0, 0];
      for (let sy = 0; sy < samples; sy++) {
        for (let sx = 0; sx < samples; sx++) {
          const x = (px + (sx + 0.5) / samples) * scale;
          const y = (py + (sy + 0.5) / samples) * scale;
          const [r, g, b, a] = shade(x, y);
          sum[0] += r * a;
          sum[1] += g * a;
          sum[2] += b * a;
          sum[3] += a;
        }
      }
      const alpha = sum[3] / samples ** 2;
      const px4 = 1 + px * 4;
      for (let c = 0; c < 3; c++) row[px4 + c] = alpha ? Math.round((255 * sum[c]) / sum[3]) : 0;
      row[px4 + 3] = Math.round(alpha * 255);
    }
    rows.push(row);
  }
  return Buffer.concat(rows);
}

function crc32(buffer) {
  let crc = ~0;
  for (const byte of buffer) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}

function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

function png(size, samples) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(render(size, samples), { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const pictures = [
  { file: join('images', 'icon.png'), size: 128, samples: 4 },
  ...taskNames.map((task) => ({ file: join('tasks', task, 'icon.png'), size: 32, samples: 8 })),
];
const outputRoot = process.env.BKB_ICON_DIR ?? root;
for (const { file, size, samples } of pictures) {
  const data = png(size, samples);
  mkdirSync(dirname(join(outputRoot, file)), { recursive: true });
  writeFileSync(join(outputRoot, file), data);
  console.log(`${file}: ${size}x${size}, ${data.length} bytes`);
}
