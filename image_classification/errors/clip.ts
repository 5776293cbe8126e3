/**
 * A client's value as an error message may quote it: control characters replaced, at most
 * `max` characters, so an error never echoes a header or a body back at length.
 */
export function clip(value: string, max = 64): string {
  // Control characters are exactly what this removes.
  // eslint-disable-next-line no-control-regex
  const printable = value.replace(/[\u0000-\u001f\u007f]/g, '?');
  return printable.length <= max ? printable : `${printable.slice(0, max)}… (${value.length} characters)`;
}
