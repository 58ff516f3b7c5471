// Draws the extension icon (images/icon.png, 128x128): three stacked image layers being built,
// with an arrow pushing them up to a registry, on a rounded Azure-blue tile. Pure Node: shapes are
// signed distance functions, anti-aliased by 4x4 supersampling, encoded as an RGBA PNG with zlib.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { root } from './versions.mjs';

const SIZE = 128;
const SAMPLES = 4;

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

function render() {
  const rows = [];
  for (let py = 0; py < SIZE; py++) {
    const row = Buffer.alloc(1 + SIZE * 4);
    for (let px = 0; px < SIZE; px++) {
      const sum = [0, 0, 0, 0];
      for (let sy = 0; sy < SAMPLES; sy++) {
        for (let sx = 0; sx < SAMPLES; sx++) {
          const [r, g, b, a] = shade(px + (sx + 0.5) / SAMPLES, py + (sy + 0.5) / SAMPLES);
          sum[0] += r * a;
          sum[1] += g * a;
          sum[2] += b * a;
          sum[3] += a;
        }
      }
      const alpha = sum[3] / SAMPLES ** 2;
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

const header = Buffer.alloc(13);
header.writeUInt32BE(SIZE, 0);
header.writeUInt32BE(SIZE, 4);
header.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA, no interlace
const png = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  chunk('IHDR', header),
  chunk('IDAT', deflateSync(render(), { level: 9 })),
  chunk('IEND', Buffer.alloc(0)),
]);
writeFileSync(join(root, 'images', 'icon.png'), png);
console.log(`images/icon.png: ${png.length} bytes`);
