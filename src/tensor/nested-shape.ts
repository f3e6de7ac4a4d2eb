// The shape of a rectangular nested JSON array, for tools that read tensors from JSON files.

/** e.g. [[1,2],[3,4]] → [2,2]; `what` names the source in the error. */
export function nestedShape(value: unknown, what: string): number[] {
  const shape: number[] = [];
  let v = value;
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = v[0];
  }
  if (shape.length === 0) throw new Error(`${what}: expected a JSON array of values`);
  return shape;
}
