// Dotted version numbers as the servers report them ("2.14.0", "v2.15.2-080b0220").

export function parseVersion(v: string | undefined): [number, number, number] | undefined {
  const m = v?.match(/^v?(\d+)\.(\d+)(?:\.(\d+))?/);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined;
}

/** True when `v` is known and at least `min` ("2.13"). */
export function atLeast(v: string | undefined, min: string): boolean {
  const a = parseVersion(v);
  const b = parseVersion(min);
  if (!a || !b) return false;
  for (let i = 0; i < 3; i++) {
    if ((a[i] as number) !== (b[i] as number)) return (a[i] as number) > (b[i] as number);
  }
  return true;
}
