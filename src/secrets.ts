// Every secret the run knows passes through here: masked in the runner's log the moment it is
// known, and scrubbed from any text we build ourselves (error messages, debug lines, server
// error bodies), so a secret cannot leak through a path the runner's masking does not cover.

export type MaskFn = (value: string) => void;

export class SecretRegistry {
  readonly #values = new Set<string>();
  readonly #mask: MaskFn;

  constructor(mask: MaskFn) {
    this.#mask = mask;
  }

  /** Masks a secret (and every line of it: the runner masks line by line) and remembers it. */
  add(value: string | undefined): void {
    if (!value) return;
    for (const part of [value, ...value.split(/\r?\n/)]) {
      const trimmed = part.trim();
      if (trimmed.length < 4 || this.#values.has(trimmed)) continue;
      this.#values.add(trimmed);
      this.#mask(trimmed);
    }
  }

  /** Replaces every known secret in `text` with `***`, longest first so overlaps stay hidden. */
  scrub(text: string): string {
    let out = text;
    for (const value of [...this.#values].sort((a, b) => b.length - a.length)) {
      out = out.split(value).join("***");
    }
    return out;
  }
}
