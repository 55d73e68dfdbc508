// What the measured calls really carried, as the recorder saw it: proof that each variant did the
// work it is credited with (and no rule was broken while doing it).
import type { Table } from "./report";
import type { ModelWire } from "./servers";

export class WireCheck {
  private readonly totals = new Map<string, ModelWire>();

  add(wire: Record<string, ModelWire>): void {
    for (const [model, w] of Object.entries(wire)) {
      const t = this.totals.get(model);
      if (!t) {
        this.totals.set(model, { ...w, sample: [...w.sample] });
        continue;
      }
      t.calls += w.calls;
      t.portkey += w.portkey;
      t.requesty += w.requesty;
      t.mislabelled += w.mislabelled;
      t.violations += w.violations;
      for (const v of w.sample) if (t.sample.length < 3 && !t.sample.includes(v)) t.sample.push(v);
    }
  }

  table(title: string): Table {
    return {
      title,
      columns: [
        "request `model` (variant)",
        "calls",
        "x-portkey-metadata",
        "requesty field",
        "mixed-up user",
        "rule breaks",
      ],
      rows: [...this.totals.entries()].map(([model, w]) => [
        model,
        String(w.calls),
        String(w.portkey),
        String(w.requesty),
        String(w.mislabelled),
        w.violations === 0 ? "0" : `${w.violations} (${w.sample.join("; ")})`,
      ]),
    };
  }

  /** Rule breaks, mixed-up metadata, and variants that should carry both in-flight fields but did not. */
  problems(carriesBoth: (model: string) => boolean): string[] {
    const out: string[] = [];
    for (const [model, w] of this.totals) {
      if (w.violations > 0) out.push(`${model}: ${w.violations} rule breaks (${w.sample.join("; ")})`);
      if (w.mislabelled > 0) out.push(`${model}: ${w.mislabelled} calls carried another call's user`);
      if (carriesBoth(model) && (w.portkey < w.calls || w.requesty < w.calls)) {
        out.push(
          `${model}: only ${w.portkey}/${w.calls} calls carried Portkey's header, ${w.requesty} Requesty's field`,
        );
      }
    }
    return out;
  }
}
