import sharp from "sharp";
import type { Region } from "../../lib/patchcore/regions";

/** ROC curves as a PNG (SVG rendered by sharp). */
export async function rocPng(curves: { name: string; points: [number, number][]; colour: string }[], file: string): Promise<void> {
  const size = 480;
  const pad = 50;
  const x = (v: number) => pad + v * (size - 2 * pad);
  const y = (v: number) => size - pad - v * (size - 2 * pad);
  const paths = curves
    .map((c, i) => {
      const d = c.points.map(([fx, fy], j) => `${j ? "L" : "M"}${x(fx).toFixed(1)},${y(fy).toFixed(1)}`).join(" ");
      return `<path d="${d}" fill="none" stroke="${c.colour}" stroke-width="2"/><text x="${pad + 10}" y="${pad + 20 + 18 * i}" fill="${c.colour}" font-size="14" font-family="sans-serif">${c.name}</text>`;
    })
    .join("");
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}"><rect width="100%" height="100%" fill="white"/>
    <rect x="${pad}" y="${pad}" width="${size - 2 * pad}" height="${size - 2 * pad}" fill="none" stroke="#888"/>
    <line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="#ccc" stroke-dasharray="4"/>
    <text x="${size / 2 - 60}" y="${size - 15}" font-size="13" font-family="sans-serif">false positive rate</text>
    <text x="12" y="${size / 2 + 40}" font-size="13" font-family="sans-serif" transform="rotate(-90 12 ${size / 2 + 40})">true positive rate</text>
    ${paths}</svg>`;
  await sharp(Buffer.from(svg)).png().toFile(file);
}

/**
 * The ROI with its heatmap blended over it (/infer's heatmap_fixed: the model's fixed scale, so
 * overlays of good and defective parts compare), predicted regions outlined in red and the
 * ground-truth defect outlined in green, side by side with the plain image.
 */
export async function overlayPng(
  imageBytes: Buffer,
  fixedHeatmapPngBase64: string,
  regions: readonly Region[],
  truthContours: readonly [number, number][][],
  caption: string,
  file: string,
): Promise<void> {
  const { data: rgb, info } = await sharp(imageBytes).removeAlpha().toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
  const { width: W, height: H } = info;
  const { data: heat } = await sharp(Buffer.from(fixedHeatmapPngBase64, "base64")).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const blended = Buffer.alloc(W * H * 3);
  for (let i = 0; i < W * H; i++) {
    const alpha = (0.6 * heat[i * 4 + 3]!) / 255; // transparent outside the ROI shape: the image alone there
    for (let c = 0; c < 3; c++) blended[i * 3 + c] = Math.round((1 - alpha) * rgb[i * 3 + c]! + alpha * heat[i * 4 + c]!);
  }
  const polygon = (points: readonly [number, number][], colour: string) =>
    `<polygon points="${points.map(([px, py]) => `${px},${py}`).join(" ")}" fill="none" stroke="${colour}" stroke-width="2"/>`;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">${truthContours.map((c) => polygon(c, "#00ff00")).join("")}${regions
    .map((r) => polygon(r.contour, "#ff0000"))
    .join("")}</svg>`;
  const right = await sharp(blended, { raw: { width: W, height: H, channels: 3 } })
    .composite([{ input: Buffer.from(svg) }])
    .png()
    .toBuffer();
  const label = `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="28"><rect width="100%" height="100%" fill="white"/><text x="8" y="19" font-size="15" font-family="sans-serif">${caption.replace(/&/g, "&amp;").replace(/</g, "&lt;")}</text></svg>`;
  await sharp({ create: { width: 2 * W, height: H + 28, channels: 3, background: "#ffffff" } })
    .composite([
      { input: Buffer.from(label), top: 0, left: 0 },
      {
        input: await sharp(rgb, { raw: { width: W, height: H, channels: 3 } })
          .png()
          .toBuffer(),
        top: 28,
        left: 0,
      },
      { input: right, top: 28, left: W },
    ])
    .png()
    .toFile(file);
}
