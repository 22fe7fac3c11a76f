// QR codes (ISO/IEC 18004) drawn in the page, so a Solana Pay transfer request (`solana:<recipient>?amount=…`) can be
// scanned by a wallet on another device without the link ever leaving the browser for a third-party QR service.
// Byte mode only: the links are UTF-8 text, and one mode keeps the encoder small enough to check module by module
// against an independent implementation (Tests/interop/qr_check.py compares every case with segno, bit for bit).

/** The error-correction levels, roughly 7 %, 15 %, 25 % and 30 % of the codewords recoverable. */
const ECC_LEVELS = ["L", "M", "Q", "H"];

/** The two level bits of the format information (ISO/IEC 18004 Table 12): not in L, M, Q, H order. */
const FORMAT_LEVEL_BITS = { L: 0b01, M: 0b00, Q: 0b11, H: 0b10 };

// ISO/IEC 18004 Table 9, for versions 1 to 40: how many error-correction codewords each block has, and how many
// blocks the codewords are split into. Everything else (total codewords, data codewords, block lengths) follows from
// these and the symbol's geometry, so only these two tables are written out.
const EC_CODEWORDS_PER_BLOCK = {
  L: [7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28,
    28, 28, 30, 30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
  M: [10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26,
    26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28],
  Q: [13, 22, 18, 26, 18, 24, 18, 22, 20, 24, 28, 26, 24, 20, 30, 24, 28, 28, 26, 30,
    28, 30, 30, 30, 30, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
  H: [17, 28, 22, 16, 22, 28, 26, 26, 24, 28, 24, 28, 22, 24, 24, 30, 28, 28, 26, 28,
    30, 24, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
};
const EC_BLOCKS = {
  L: [1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8,
    8, 9, 9, 10, 12, 12, 12, 13, 14, 15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25],
  M: [1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16,
    17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49],
  Q: [1, 1, 2, 2, 4, 4, 6, 6, 8, 8, 8, 10, 12, 16, 12, 17, 16, 18, 21, 20,
    23, 23, 25, 27, 29, 34, 34, 35, 38, 40, 43, 45, 48, 51, 53, 56, 59, 62, 65, 68],
  H: [1, 1, 2, 4, 4, 4, 5, 6, 8, 8, 11, 11, 16, 16, 18, 16, 19, 21, 25, 25,
    25, 34, 30, 32, 35, 37, 40, 42, 45, 48, 51, 54, 57, 60, 63, 66, 70, 74, 77, 81],
};

// ---- Arithmetic in GF(256) with the QR field polynomial x⁸ + x⁴ + x³ + x² + 1 (0x11D), generator α = 2. ----
// Exponents are tabulated twice over so a product needs no "mod 255" on the summed logarithms.
const GF_EXP = new Uint8Array(512);
const GF_LOG = new Uint8Array(256);
for (let exponent = 0, value = 1; exponent < 255; exponent++) {
  GF_EXP[exponent] = value;
  GF_LOG[value] = exponent;
  value <<= 1;
  if (value & 0x100) value ^= 0x11d;
}
for (let exponent = 255; exponent < 512; exponent++) GF_EXP[exponent] = GF_EXP[exponent - 255];

function gfMultiply(a, b) {
  return a === 0 || b === 0 ? 0 : GF_EXP[GF_LOG[a] + GF_LOG[b]];
}

const generators = new Map();
/**
 * The Reed–Solomon generator polynomial (x − α⁰)(x − α¹)…(x − α^(degree−1)), coefficients from the highest power
 * down (the leading 1 included). Only a dozen degrees occur in QR codes, so each is built once and kept.
 */
function generatorPolynomial(degree) {
  let polynomial = generators.get(degree);
  if (polynomial) return polynomial;
  polynomial = [1];
  for (let root = 0; root < degree; root++) {
    // Multiply by (x + α^root); subtraction is addition (XOR) in a field of characteristic 2.
    const product = new Array(polynomial.length + 1).fill(0);
    polynomial.forEach((coefficient, index) => {
      product[index] ^= coefficient;
      product[index + 1] ^= gfMultiply(coefficient, GF_EXP[root]);
    });
    polynomial = product;
  }
  generators.set(degree, polynomial);
  return polynomial;
}

/** The error-correction codewords of one block: the remainder of data(x)·x^degree divided by the generator. */
function errorCorrection(data, degree) {
  const generator = generatorPolynomial(degree);
  const remainder = new Uint8Array(degree);
  for (const byte of data) {
    // Long division one codeword at a time, as a shift register: the leading term leaves, the generator's multiple
    // of the new leading coefficient is subtracted from the rest.
    const factor = byte ^ remainder[0];
    remainder.copyWithin(0, 1);
    remainder[degree - 1] = 0;
    if (factor !== 0) for (let index = 0; index < degree; index++) remainder[index] ^= gfMultiply(generator[index + 1], factor);
  }
  return remainder;
}

// ---- Symbol geometry ----

const sideOf = (version) => 4 * version + 17;

/**
 * Row/column centres of the alignment patterns (ISO/IEC 18004 Annex E): the first is always 6 and the last 6 modules
 * in from the far edge; the others are spaced evenly from the far end with an even step, except that the spec
 * chose 26 rather than 28 for version 32.
 */
function alignmentCentres(version) {
  if (version === 1) return [];
  const count = Math.floor(version / 7) + 2;
  const last = sideOf(version) - 7;
  const step = version === 32 ? 26 : Math.ceil((last - 6) / (count - 1) / 2) * 2;
  const centres = [6];
  for (let fromLast = count - 2; fromLast >= 0; fromLast--) centres.push(last - fromLast * step);
  return centres;
}

/**
 * How many modules carry codeword bits: the whole square less the function patterns. Counted rather than tabulated
 * so the codeword totals cannot disagree with what the matrix really holds.
 */
function dataModuleCount(version) {
  const side = sideOf(version);
  const alignments = version === 1 ? 0 : Math.floor(version / 7) + 2;
  let count = side * side;
  count -= 3 * 64; // three finder patterns with their separators, 8 × 8 each
  count -= 2 * (side - 16); // the two timing patterns between the separators
  count -= 2 * 15 + 1; // both copies of the format information, and the dark module
  if (alignments > 0) {
    // n² − 3 patterns of 25 modules (three corners hold finders); the 2(n − 2) on row or column 6 cross the timing
    // pattern, whose 5 modules there were already counted.
    count -= 25 * (alignments * alignments - 3) - 5 * 2 * (alignments - 2);
  }
  if (version >= 7) count -= 2 * 18; // both copies of the version information
  return count;
}

const totalCodewords = (version) => Math.floor(dataModuleCount(version) / 8);
const dataCodewordCount = (version, ecc) =>
  totalCodewords(version) - EC_CODEWORDS_PER_BLOCK[ecc][version - 1] * EC_BLOCKS[ecc][version - 1];
/** The byte-mode character count indicator is 8 bits wide up to version 9 and 16 bits from version 10. */
const countBits = (version) => (version <= 9 ? 8 : 16);
/** How many bytes fit: the data codewords less the 4-bit mode indicator and the count, whole bytes only. */
const byteCapacity = (version, ecc) => Math.floor((dataCodewordCount(version, ecc) * 8 - 4 - countBits(version)) / 8);

// ---- Codewords ----

/** The data codewords: mode 0100 (byte), the count, the bytes, a terminator of up to 4 zeros, then 0xEC 0x11 pads. */
function dataCodewords(bytes, version, ecc) {
  const capacity = dataCodewordCount(version, ecc);
  const bits = [];
  const put = (value, length) => {
    for (let bit = length - 1; bit >= 0; bit--) bits.push((value >>> bit) & 1);
  };
  put(0b0100, 4);
  put(bytes.length, countBits(version));
  for (const byte of bytes) put(byte, 8);
  put(0, Math.min(4, capacity * 8 - bits.length));
  put(0, (8 - (bits.length % 8)) % 8);
  const codewords = [];
  for (let index = 0; index < bits.length; index += 8) {
    codewords.push(bits.slice(index, index + 8).reduce((byte, bit) => (byte << 1) | bit, 0));
  }
  for (let pad = 0xec; codewords.length < capacity; pad ^= 0xec ^ 0x11) codewords.push(pad);
  return codewords;
}

/**
 * Splits the data into blocks, adds each block's error correction, and interleaves them: first codeword of every
 * block, then the second, …, then the error-correction codewords likewise. Interleaving spreads a smudge over many
 * blocks, so each block loses only a little. When the codewords do not divide evenly, the later blocks are one
 * data codeword longer.
 */
function finalCodewords(data, version, ecc) {
  const blockCount = EC_BLOCKS[ecc][version - 1];
  const ecLength = EC_CODEWORDS_PER_BLOCK[ecc][version - 1];
  const total = totalCodewords(version);
  const shortBlocks = blockCount - (total % blockCount);
  const shortDataLength = Math.floor(total / blockCount) - ecLength;
  const blocks = [];
  for (let index = 0, offset = 0; index < blockCount; index++) {
    const length = shortDataLength + (index < shortBlocks ? 0 : 1);
    const block = data.slice(offset, offset + length);
    offset += length;
    blocks.push({ data: block, ec: errorCorrection(block, ecLength) });
  }
  const result = [];
  for (let index = 0; index <= shortDataLength; index++) {
    for (const block of blocks) if (index < block.data.length) result.push(block.data[index]);
  }
  for (let index = 0; index < ecLength; index++) for (const block of blocks) result.push(block.ec[index]);
  return result;
}

// ---- The matrix ----
// Modules are kept in flat arrays indexed row * side + column: `dark` is the colour, `reserved` marks modules that
// belong to function patterns or to the format and version information, which data never goes into and masks never
// touch.

function functionPatterns(version) {
  const side = sideOf(version);
  const dark = new Uint8Array(side * side);
  const reserved = new Uint8Array(side * side);
  const set = (row, column, isDark) => {
    dark[row * side + column] = isDark ? 1 : 0;
    reserved[row * side + column] = 1;
  };

  // Timing patterns first, alternating from dark at the corners; the finders then overwrite the ends.
  for (let index = 0; index < side; index++) {
    set(6, index, index % 2 === 0);
    set(index, 6, index % 2 === 0);
  }
  // Finder patterns (7 × 7 ring around a 3 × 3 core) with their light one-module separators.
  for (const [top, left] of [[0, 0], [0, side - 7], [side - 7, 0]]) {
    for (let dy = -1; dy <= 7; dy++) {
      for (let dx = -1; dx <= 7; dx++) {
        const row = top + dy;
        const column = left + dx;
        if (row < 0 || row >= side || column < 0 || column >= side) continue;
        const ring = Math.max(Math.abs(dy - 3), Math.abs(dx - 3));
        set(row, column, ring !== 2 && ring !== 4);
      }
    }
  }
  // Alignment patterns (5 × 5: dark ring, light ring, dark centre) wherever they do not collide with a finder.
  const centres = alignmentCentres(version);
  const last = centres.length - 1;
  centres.forEach((row, rowIndex) => {
    centres.forEach((column, columnIndex) => {
      if ((rowIndex === 0 && columnIndex === 0) || (rowIndex === 0 && columnIndex === last) || (rowIndex === last && columnIndex === 0)) return;
      for (let dy = -2; dy <= 2; dy++) {
        for (let dx = -2; dx <= 2; dx++) set(row + dy, column + dx, Math.max(Math.abs(dy), Math.abs(dx)) !== 1);
      }
    });
  });
  // Format information (two copies, and the dark module beside the lower one) and, from version 7, version
  // information: reserved now, light, and written once the mask is known.
  for (let index = 0; index <= 8; index++) {
    if (index !== 6) {
      set(8, index, false);
      set(index, 8, false);
    }
  }
  for (let index = 0; index < 8; index++) {
    set(8, side - 1 - index, false);
    set(side - 1 - index, 8, false);
  }
  if (version >= 7) {
    for (let index = 0; index < 18; index++) {
      set(side - 11 + (index % 3), Math.floor(index / 3), false);
      set(Math.floor(index / 3), side - 11 + (index % 3), false);
    }
  }
  return { side, dark, reserved };
}

/**
 * Places the codeword bits, most significant first, in two-module columns from the bottom-right corner, upwards then
 * downwards alternately, right module before left, skipping reserved modules. Column 6 (the vertical timing
 * pattern) is stepped over, so the columns left of it pair as (5, 4), (3, 2), (1, 0). Modules left over at the end
 * (the 0, 3, 4 or 7 remainder bits) stay light.
 */
function placeCodewords(grid, codewords) {
  const { side, dark, reserved } = grid;
  const bitCount = codewords.length * 8;
  let bit = 0;
  let upward = true;
  for (let right = side - 1; right >= 1; right -= 2) {
    if (right === 6) right = 5;
    for (let step = 0; step < side; step++) {
      const row = upward ? side - 1 - step : step;
      for (const column of [right, right - 1]) {
        const index = row * side + column;
        if (reserved[index] || bit >= bitCount) continue;
        dark[index] = (codewords[bit >>> 3] >>> (7 - (bit & 7))) & 1;
        bit++;
      }
    }
    upward = !upward;
  }
}

/** The eight data masks (ISO/IEC 18004 Table 10): a module is inverted where the condition holds. */
const MASKS = [
  (row, column) => (row + column) % 2 === 0,
  (row) => row % 2 === 0,
  (row, column) => column % 3 === 0,
  (row, column) => (row + column) % 3 === 0,
  (row, column) => (Math.floor(row / 2) + Math.floor(column / 3)) % 2 === 0,
  (row, column) => ((row * column) % 2) + ((row * column) % 3) === 0,
  (row, column) => (((row * column) % 2) + ((row * column) % 3)) % 2 === 0,
  (row, column) => (((row + column) % 2) + ((row * column) % 3)) % 2 === 0,
];

function applyMask(grid, mask) {
  const { side, dark, reserved } = grid;
  const masked = dark.slice();
  const condition = MASKS[mask];
  for (let row = 0; row < side; row++) {
    for (let column = 0; column < side; column++) {
      const index = row * side + column;
      if (!reserved[index] && condition(row, column)) masked[index] ^= 1;
    }
  }
  return masked;
}

/**
 * Rules 1 and 3 along one row or column. Rule 1: a run of 5 + i same-coloured modules costs 3 + i. Rule 3: each
 * 1:1:3:1:1 finder look-alike (dark light dark×3 light dark) with 4 light modules on at least one side costs 40;
 * beyond the symbol's edge counts as light (the quiet zone is), and a look-alike that was counted is not reused for
 * one overlapping it.
 */
function lineScore(line) {
  const length = line.length;
  let score = 0;
  let run = 1;
  for (let index = 1; index <= length; index++) {
    if (index < length && line[index] === line[index - 1]) {
      run++;
    } else {
      if (run >= 5) score += run - 2;
      run = 1;
    }
  }
  const lightBetween = (from, to) => {
    for (let index = Math.max(from, 0); index < Math.min(to, length); index++) if (line[index]) return false;
    return true;
  };
  for (let index = 0; index + 7 <= length; ) {
    const lookAlike = line[index] && !line[index + 1] && line[index + 2] && line[index + 3] && line[index + 4]
      && !line[index + 5] && line[index + 6];
    if (lookAlike && (lightBetween(index - 4, index) || lightBetween(index + 7, index + 11))) {
      score += 40;
      index += 7;
    } else {
      index++;
    }
  }
  return score;
}

/**
 * The penalty of a masked symbol under the four rules of ISO/IEC 18004 §7.8.3.1: long runs, 2 × 2 blocks, finder
 * look-alikes, and imbalance of dark and light (10 per whole 5 % away from half). The score is taken before the
 * format information, version information and dark module are written (the format information depends on the mask
 * being chosen), so those modules count as light here; segno scores the same way, which lets the interop check
 * compare mask choices exactly.
 */
function penalty(side, dark) {
  let score = 0;
  const row = new Uint8Array(side);
  const column = new Uint8Array(side);
  for (let line = 0; line < side; line++) {
    for (let index = 0; index < side; index++) {
      row[index] = dark[line * side + index];
      column[index] = dark[index * side + line];
    }
    score += lineScore(row) + lineScore(column);
  }
  for (let top = 0; top < side - 1; top++) {
    for (let left = 0; left < side - 1; left++) {
      const index = top * side + left;
      const colour = dark[index];
      if (dark[index + 1] === colour && dark[index + side] === colour && dark[index + side + 1] === colour) score += 3;
    }
  }
  let darkCount = 0;
  for (const module of dark) darkCount += module;
  const total = side * side;
  // |dark/total − 50 %| in whole steps of 5 %, in integers: |20·dark − 10·total| / total.
  score += Math.floor(Math.abs(20 * darkCount - 10 * total) / total) * 10;
  return score;
}

/** The check bits of a BCH code word: `value` shifted past them, reduced modulo `generator` one bit at a time. */
function bchRemainder(value, generator) {
  const degree = Math.floor(Math.log2(generator));
  let remainder = value << degree;
  for (let bit = 30; bit >= degree; bit--) {
    if (remainder & (1 << bit)) remainder ^= generator << (bit - degree);
  }
  return remainder;
}

/** The 15 format bits: level and mask, BCH(15,5) with generator 0x537, XORed with 0x5412 so they are never all 0. */
function formatBits(ecc, mask) {
  const data = (FORMAT_LEVEL_BITS[ecc] << 3) | mask;
  return ((data << 10) | bchRemainder(data, 0x537)) ^ 0x5412;
}

/** The 18 version bits: the version, BCH(18,6) with generator 0x1F25 (no XOR mask). */
function versionBits(version) {
  return (version << 12) | bchRemainder(version, 0x1f25);
}

/**
 * Writes the format information (bit 0 is the least significant): one copy around the top-left finder, split by the
 * timing pattern, the other split between the top-right (bits 0–7) and bottom-left (bits 8–14) finders; plus the
 * dark module, and the two version-information blocks from version 7.
 */
function writeFormatAndVersion(side, dark, version, ecc, mask) {
  const set = (row, column, bit) => {
    dark[row * side + column] = bit;
  };
  const bits = formatBits(ecc, mask);
  for (let index = 0; index < 15; index++) {
    const bit = (bits >>> index) & 1;
    // First copy: column 8 downwards from the top for bits 0–7, then row 8 leftwards for bits 8–14 (skipping row
    // and column 6, the timing patterns).
    if (index < 6) set(index, 8, bit);
    else if (index < 8) set(index + 1, 8, bit);
    else if (index === 8) set(8, 7, bit);
    else set(8, 14 - index, bit);
    // Second copy.
    if (index < 8) set(8, side - 1 - index, bit);
    else set(side - 15 + index, 8, bit);
  }
  set(side - 8, 8, 1);
  if (version >= 7) {
    const info = versionBits(version);
    for (let index = 0; index < 18; index++) {
      const bit = (info >>> index) & 1;
      set(side - 11 + (index % 3), Math.floor(index / 3), bit);
      set(Math.floor(index / 3), side - 11 + (index % 3), bit);
    }
  }
}

/**
 * Encodes `text` (UTF-8, byte mode) as a QR code, in the smallest version 1–40 that holds it at level `ecc`, with
 * the mask of lowest penalty. `modules[row][column]` is true for a dark module; the 4-module quiet zone around the
 * symbol is not included. Throws when the text is longer than version 40 holds at that level.
 *
 * @param {string} text
 * @param {{ecc?: "L" | "M" | "Q" | "H"}} [options]
 * @returns {{size: number, version: number, mask: number, ecc: string, modules: boolean[][]}}
 */
export function qrMatrix(text, { ecc = "M" } = {}) {
  if (typeof text !== "string") throw new TypeError("qrMatrix: text must be a string");
  if (!ECC_LEVELS.includes(ecc)) throw new RangeError(`qrMatrix: ecc must be one of L, M, Q, H (not ${String(ecc)})`);
  const bytes = new TextEncoder().encode(text);
  let version = 1;
  while (version <= 40 && byteCapacity(version, ecc) < bytes.length) version++;
  if (version > 40) {
    throw new Error(`QR code: ${bytes.length} bytes do not fit version 40 at level ${ecc} (at most ${byteCapacity(40, ecc)} bytes)`);
  }

  const grid = functionPatterns(version);
  placeCodewords(grid, finalCodewords(dataCodewords(bytes, version, ecc), version, ecc));
  let best = null;
  for (let mask = 0; mask < MASKS.length; mask++) {
    const masked = applyMask(grid, mask);
    const score = penalty(grid.side, masked);
    if (best === null || score < best.score) best = { mask, score, dark: masked };
  }
  writeFormatAndVersion(grid.side, best.dark, version, ecc, best.mask);

  const side = grid.side;
  const modules = [];
  for (let row = 0; row < side; row++) {
    modules.push(Array.from(best.dark.subarray(row * side, (row + 1) * side), (module) => module === 1));
  }
  return { size: side, version, mask: best.mask, ecc, modules };
}

const escapeAttribute = (value) =>
  value.replace(/[&<>"']/g, (character) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[character]);

/**
 * The QR code of `text` as an SVG string for `element.innerHTML`: a white square (the symbol plus a `margin`-module
 * quiet zone, which scanners need) and one path of the dark modules, one rectangle per horizontal run, in module
 * units scaled to `scale` pixels per module. `crispEdges` keeps neighbouring runs from showing anti-aliased seams.
 * `label` becomes the accessible name (e.g. "Pay 12.50 USDC with a Solana wallet"); without one it is "QR code".
 *
 * @param {string} text
 * @param {{ecc?: "L" | "M" | "Q" | "H", scale?: number, margin?: number, label?: string}} [options]
 * @returns {string}
 */
export function qrSVG(text, { ecc = "M", scale = 4, margin = 4, label = "" } = {}) {
  if (!(Number.isFinite(scale) && scale > 0)) throw new RangeError("qrSVG: scale must be a positive number");
  if (!(Number.isInteger(margin) && margin >= 0)) throw new RangeError("qrSVG: margin must be a whole number ≥ 0");
  const { size, modules } = qrMatrix(text, { ecc });
  const extent = size + 2 * margin;
  const path = [];
  modules.forEach((row, y) => {
    for (let x = 0; x < size; ) {
      if (!row[x]) {
        x++;
        continue;
      }
      let end = x;
      while (end < size && row[end]) end++;
      path.push(`M${x + margin} ${y + margin}h${end - x}v1h${x - end}z`);
      x = end;
    }
  });
  const pixels = extent * scale;
  const name = escapeAttribute(String(label) || "QR code");
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${extent} ${extent}" width="${pixels}" height="${pixels}" `
    + `shape-rendering="crispEdges" role="img" aria-label="${name}">`
    + `<rect width="${extent}" height="${extent}" fill="#fff"/><path fill="#000" d="${path.join("")}"/></svg>`;
}
