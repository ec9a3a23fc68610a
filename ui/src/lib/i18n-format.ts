// How a message becomes text: placeholders typed from the Italian table (a `{name}` missing
// from the values, or a value for no placeholder, fails svelte-check), numbers through
// `Intl.NumberFormat`, and plural forms chosen by `Intl.PluralRules` ("1 secondo",
// "2 secondi"). Dates go through `formatDate`/`formatDateTime` (labels.ts), never as ISO.

/** A message that depends on a count: the form for one and for the others. */
export interface Plural {
  readonly one: string;
  readonly other: string;
}

export type Message = string | Plural;

/** The English (or any other) table of a screen: the same keys, any text, same shape. */
export type Texts<T> = { readonly [K in keyof T]: T[K] extends Plural ? Plural : string };

/** The placeholders of a template literal type. */
type Params<S> = S extends `${string}{${infer K}}${infer Rest}` ? K | Params<Rest> : never;

/** The placeholders of a message (both forms of a plural). */
export type ParamsOf<M> = M extends Plural ? Params<M['one']> | Params<M['other']> : Params<M>;

/** Fills the placeholders of `message` in `locale`; a plural picks its form by the first number. */
export function render(locale: string, message: Message, values: Record<string, string | number>): string {
  let template: string;
  if (typeof message === 'string') {
    template = message;
  } else {
    const count = Object.values(values).find((v): v is number => typeof v === 'number') ?? 0;
    template = new Intl.PluralRules(locale).select(count) === 'one' ? message.one : message.other;
  }
  const numbers = new Intl.NumberFormat(locale);
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => {
    const value = values[key];
    if (value === undefined) return whole;
    return typeof value === 'number' ? numbers.format(value) : value;
  });
}
