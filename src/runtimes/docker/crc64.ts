/**
 * CRC-64/GO-ISO, the checksum tar-split records for every file of a layer
 * (`crc64.MakeTable(crc64.ISO)` in Go: reflected polynomial 0xD800000000000000, complemented
 * before and after), computed as a file streams so the layer store can tell a file that changed
 * since the layer was stored. Slicing-by-8 over two 32-bit halves: about 300-400 MB/s on the
 * loaded 2-core test machine, against about 90 MB/s one byte at a time (measured on 100 MB).
 */

/** Eight tables of 256 entries, low and high 32 bits apart (BigInt would be far slower). */
const LOW = new Int32Array(8 * 256);
const HIGH = new Int32Array(8 * 256);
for (let i = 0; i < 256; i++) {
  let low = i;
  let high = 0;
  for (let bit = 0; bit < 8; bit++) {
    const carry = low & 1;
    low = (low >>> 1) | ((high & 1) << 31);
    high = high >>> 1;
    if (carry) high ^= 0xd8000000;
  }
  LOW[i] = low;
  HIGH[i] = high;
}
for (let table = 1; table < 8; table++) {
  for (let i = 0; i < 256; i++) {
    const low = LOW[(table - 1) * 256 + i];
    const high = HIGH[(table - 1) * 256 + i];
    LOW[table * 256 + i] = ((low >>> 8) | (high << 24)) ^ LOW[low & 0xff];
    HIGH[table * 256 + i] = (high >>> 8) ^ HIGH[low & 0xff];
  }
}

/** A running CRC-64/GO-ISO; `update` with each piece, then `digest`. */
export class Crc64 {
  /** The register, complemented (as Go keeps it between updates). */
  #low = ~0;
  #high = ~0;

  /** Adds `bytes` to the checksum. */
  update(bytes: Uint8Array): this {
    let low = this.#low;
    let high = this.#high;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const whole = bytes.length - (bytes.length % 8);
    for (let i = 0; i < whole; i += 8) {
      const x = low ^ view.getInt32(i, true);
      const y = high ^ view.getInt32(i + 4, true);
      const a = 1792 + (x & 0xff), b = 1536 + ((x >>> 8) & 0xff);
      const c = 1280 + ((x >>> 16) & 0xff), d = 1024 + (x >>> 24);
      const e = 768 + (y & 0xff), f = 512 + ((y >>> 8) & 0xff);
      const g = 256 + ((y >>> 16) & 0xff), h = y >>> 24;
      low = LOW[a] ^ LOW[b] ^ LOW[c] ^ LOW[d] ^ LOW[e] ^ LOW[f] ^ LOW[g] ^ LOW[h];
      high = HIGH[a] ^ HIGH[b] ^ HIGH[c] ^ HIGH[d] ^ HIGH[e] ^ HIGH[f] ^ HIGH[g] ^ HIGH[h];
    }
    for (let i = whole; i < bytes.length; i++) {
      const index = (low ^ bytes[i]) & 0xff;
      low = ((low >>> 8) | (high << 24)) ^ LOW[index];
      high = (high >>> 8) ^ HIGH[index];
    }
    this.#low = low;
    this.#high = high;
    return this;
  }

  /** The checksum so far, big-endian: the 8 bytes tar-split stores (base64) as a file's payload. */
  digest(): Uint8Array {
    const out = new Uint8Array(8);
    const view = new DataView(out.buffer);
    view.setUint32(0, ~this.#high >>> 0);
    view.setUint32(4, ~this.#low >>> 0);
    return out;
  }
}
