// Photos are shrunk on the phone before they are queued: longest side at most 1280 px, JPEG,
// quality stepped down (and, if that is not enough, the size) until the file is ≤ 300 KB.
// A phone camera's 4 MB photo becomes ~200 KB: it goes over 2G, and the server keeps it.

export const MAX_SIDE = 1280;
export const MAX_BYTES = 300 * 1024;
export const QUALITIES = [0.82, 0.72, 0.62, 0.52, 0.42];

/** The size to draw a w×h image at so that its longest side is at most `maxSide`. */
export function fitWithin(w, h, maxSide = MAX_SIDE) {
  const scale = Math.min(1, maxSide / Math.max(w, h));
  return { width: Math.max(1, Math.round(w * scale)), height: Math.max(1, Math.round(h * scale)) };
}

async function decode(file) {
  // The camera's EXIF orientation applied, so a portrait photo stays upright.
  if (typeof createImageBitmap === "function") {
    try {
      return await createImageBitmap(file, { imageOrientation: "from-image" });
    } catch {
      /* older engines refuse the option: decode with an <img> below */
    }
  }
  const url = URL.createObjectURL(file);
  try {
    const img = new Image();
    img.decoding = "async";
    img.src = url;
    await img.decode();
    return img;
  } finally {
    URL.revokeObjectURL(url);
  }
}

function canvasOf(width, height) {
  if (typeof OffscreenCanvas === "function") return new OffscreenCanvas(width, height);
  const c = document.createElement("canvas");
  c.width = width;
  c.height = height;
  return c;
}

function encode(canvas, quality) {
  if (typeof canvas.convertToBlob === "function") {
    return canvas.convertToBlob({ type: "image/jpeg", quality });
  }
  return new Promise((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("encode failed"))), "image/jpeg", quality),
  );
}

/** Shrink a picked photo: {blob (image/jpeg), width, height}. */
export async function shrink(file, { maxSide = MAX_SIDE, maxBytes = MAX_BYTES } = {}) {
  const image = await decode(file);
  const w0 = image.width;
  const h0 = image.height;
  let side = Math.min(maxSide, Math.max(w0, h0));
  let best = null;
  try {
    for (let round = 0; round < 4; round += 1) {
      const { width, height } = fitWithin(w0, h0, side);
      const canvas = canvasOf(width, height);
      const ctx = canvas.getContext("2d");
      ctx.fillStyle = "#fff"; // a transparent PNG gets a white background, not black
      ctx.fillRect(0, 0, width, height);
      ctx.drawImage(image, 0, 0, width, height);
      for (const q of QUALITIES) {
        const blob = await encode(canvas, q);
        best = { blob, width, height };
        if (blob.size <= maxBytes) return best;
      }
      side = Math.round(side * 0.75); // still too big at the lowest quality: fewer pixels
    }
  } finally {
    if (typeof image.close === "function") image.close();
  }
  return best;
}
