// A plain-text table with multi-line cells that lines up wide characters ("Zoë 😀") in a terminal.

const COMBINING = /\p{Mark}|\u200d|\ufe0f/u;
const WIDE =
  /\p{Extended_Pictographic}|[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\uff00-\uff60\uffe0-\uffe6]/u;

/** Columns a string takes in a terminal (emoji and CJK count 2, combining marks 0). */
export function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) width += COMBINING.test(ch) ? 0 : WIDE.test(ch) ? 2 : 1;
  return width;
}

/** `text` cut to at most `max` columns, marked with "…" when cut. */
export function fit(text: string, max: number): string {
  if (displayWidth(text) <= max) return text;
  let out = "";
  for (const ch of text) {
    if (displayWidth(out + ch) > max - 1) break;
    out += ch;
  }
  return `${out}…`;
}

const pad = (text: string, width: number) => text + " ".repeat(Math.max(0, width - displayWidth(text)));

/**
 * Rows of cells, each cell a list of lines. Columns are as wide as their widest line, up to `maxWidth`
 * (longer lines are cut); a row is as tall as its tallest cell.
 */
export function textTable(rows: string[][][], options: { maxWidth?: number; indent?: string } = {}): string {
  const maxWidth = options.maxWidth ?? 30;
  const indent = options.indent ?? "";
  const cells = rows.map((row) =>
    row.map((cell) => (cell.length ? cell : [""]).map((l) => fit(l, maxWidth))),
  );
  const widths: number[] = [];
  for (const row of cells) {
    row.forEach((cell, i) => {
      for (const line of cell) widths[i] = Math.max(widths[i] ?? 0, displayWidth(line));
    });
  }
  const out: string[] = [];
  for (const row of cells) {
    const height = Math.max(...row.map((c) => c.length));
    for (let h = 0; h < height; h++) {
      out.push(
        indent +
          row
            .map((cell, i) => pad(cell[h] ?? "", widths[i]!))
            .join("  ")
            .trimEnd(),
      );
    }
  }
  return out.join("\n");
}
