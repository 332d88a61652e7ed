/**
 * @module
 * The one place where text becomes HTML. Every fragment of a report or UI page is built with
 * the `html` tagged template, which escapes every interpolated value unless it is already
 * `SafeHtml` (a fragment built the same way). Names of columns, runs, metrics and params are
 * attacker-controlled: nothing else in keel writes user text into markup.
 */

const SAFE: unique symbol = Symbol('keel.safe-html');

/** A fragment of HTML that is safe to insert as is. Build it with `html`. */
export interface SafeHtml {
  readonly [SAFE]: true;
  /** The markup. */
  readonly html: string;
}

/** What `html` accepts between `${}`: text (escaped), numbers, fragments, lists of them. */
export type Interpolation =
  | SafeHtml
  | string
  | number
  | boolean
  | null
  | undefined
  | readonly Interpolation[];

/**
 * Builds a fragment: the literal parts are markup, every `${value}` is escaped (text,
 * numbers), inserted as is (`SafeHtml`), or skipped (`null`, `undefined`, `false`); arrays
 * are joined. Attribute values must be quoted (`href="${url}"`): the escaping covers quotes.
 */
export function html(strings: TemplateStringsArray, ...values: Interpolation[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return trusted(out);
}

/**
 * Marks keel's own constant markup (its stylesheet, scripts) as safe. Never pass text that
 * came from data: build that with `html`.
 */
export function trusted(markup: string): SafeHtml {
  return { [SAFE]: true, html: markup };
}

/** True when `value` is a fragment built by `html` or `trusted`. */
export function isSafeHtml(value: unknown): value is SafeHtml {
  return typeof value === 'object' && value !== null && SAFE in value;
}

function render(value: Interpolation): string {
  if (value === null || value === undefined || value === false) return '';
  if (typeof value === 'string') return escapeText(value);
  if (typeof value === 'number' || value === true) return String(value);
  if (isSafeHtml(value)) return value.html;
  if (Array.isArray(value)) {
    let out = '';
    for (const item of value as readonly Interpolation[]) out += render(item);
    return out;
  }
  // Anything else (a caller that cast around the types) is text too.
  return escapeText(String(value));
}

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** Escapes text for element content and quoted attribute values. */
function escapeText(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ENTITIES[c]!);
}
