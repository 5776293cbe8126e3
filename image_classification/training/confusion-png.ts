import sharp from 'sharp';
import type { Evaluation } from './metrics';

const escapeXml = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The confusion matrix as a heat map (row-normalised shading, counts printed), as SVG. */
export function confusionSvg(ev: Evaluation, title: string): string {
  const cell = 90;
  const left = 120;
  const top = 90;
  const n = ev.classes.length;
  const width = left + n * cell + 30;
  const height = top + n * cell + 60;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="DejaVu Sans, sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="28" font-size="17" text-anchor="middle">${escapeXml(title)}</text>`,
    `<text x="${left + (n * cell) / 2}" y="${top - 32}" font-size="13" text-anchor="middle">predicted</text>`,
    `<text x="22" y="${top + (n * cell) / 2}" font-size="13" text-anchor="middle" ` +
      `transform="rotate(-90 22 ${top + (n * cell) / 2})">true</text>`,
  ];
  ev.classes.forEach((name, k) => {
    parts.push(`<text x="${left + k * cell + cell / 2}" y="${top - 10}" font-size="13" text-anchor="middle">${escapeXml(name)}</text>`);
    parts.push(`<text x="${left - 10}" y="${top + k * cell + cell / 2 + 5}" font-size="13" text-anchor="end">${escapeXml(name)}</text>`);
  });
  ev.confusion.forEach((row, t) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    row.forEach((count, p) => {
      const share = count / total;
      const shade = Math.round(255 - share * 200);
      const x = left + p * cell;
      const y = top + t * cell;
      parts.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="rgb(${shade},${shade},255)" stroke="#999"/>`);
      const colour = share > 0.6 ? 'white' : 'black';
      parts.push(`<text x="${x + cell / 2}" y="${y + cell / 2 + 6}" font-size="18" text-anchor="middle" fill="${colour}">${count}</text>`);
    });
  });
  parts.push(
    `<text x="${width / 2}" y="${height - 18}" font-size="13" text-anchor="middle">` +
      `accuracy ${(100 * ev.accuracy).toFixed(1)}% on ${ev.total} images</text>`,
  );
  parts.push('</svg>');
  return parts.join('\n');
}

export async function writeConfusionPng(ev: Evaluation, title: string, file: string): Promise<void> {
  await sharp(Buffer.from(confusionSvg(ev, title)))
    .png()
    .toFile(file);
}
