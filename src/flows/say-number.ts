import type { Language } from './schema.ts';

/**
 * Numbers and digit strings said in the caller's language. Asterisk's `number:` and `digits:`
 * speak the channel's language from its own sound packages, and the lab (like most installs)
 * has only the English ones, so a Mandarin caller heard "eighty eight" in the middle of a
 * Chinese sentence. For Mandarin, Hotline says numbers itself from catalog prompts
 * (`num_0`..`num_9`, 十 百 千 万 亿, 负), generated like every other prompt; English stays with
 * Asterisk's own, well-recorded English.
 */
export const NUMBER_PROMPTS = {
  digits: ['num_0', 'num_1', 'num_2', 'num_3', 'num_4', 'num_5', 'num_6', 'num_7', 'num_8', 'num_9'],
  ten: 'num_ten',
  hundred: 'num_hundred',
  thousand: 'num_thousand',
  wan: 'num_wan',
  yi: 'num_yi',
  minus: 'num_minus',
} as const;

/** Every prompt a language that Hotline speaks itself needs in the catalog. */
export const ALL_NUMBER_PROMPTS: readonly string[] = [
  ...NUMBER_PROMPTS.digits,
  NUMBER_PROMPTS.ten,
  NUMBER_PROMPTS.hundred,
  NUMBER_PROMPTS.thousand,
  NUMBER_PROMPTS.wan,
  NUMBER_PROMPTS.yi,
  NUMBER_PROMPTS.minus,
];

/** Languages whose numbers Hotline says from its own prompts rather than Asterisk's sounds. */
export const SELF_SPOKEN: ReadonlySet<Language> = new Set<Language>(['zh']);

const POSITION_UNITS = [null, NUMBER_PROMPTS.ten, NUMBER_PROMPTS.hundred, NUMBER_PROMPTS.thousand] as const;
/** 10^4 groups: 万, 亿, 万亿 (15 digits at most, as resolveMedia allows). */
const GROUP_UNITS: readonly (readonly string[])[] = [[], [NUMBER_PROMPTS.wan], [NUMBER_PROMPTS.yi], [NUMBER_PROMPTS.wan, NUMBER_PROMPTS.yi]];

/**
 * Mandarin reading of an integer as prompt names, e.g. 108 → 一 百 零 八, 10005 → 一 万 零 五,
 * 15 → 十 五 (a leading 一十 is said 十). One 零 stands for any run of zeros between said
 * digits; trailing zeros are silent. `value` is an optional minus and at most 15 digits.
 */
export function mandarinNumber(value: string): string[] {
  const negative = value.startsWith('-');
  const digits = (negative ? value.slice(1) : value).replace(/^0+(?=\d)/, '');
  if (!/^[0-9]{1,15}$/.test(digits)) throw new Error(`not an integer of at most 15 digits: ${value}`);
  if (/^0+$/.test(digits)) return [NUMBER_PROMPTS.digits[0]];
  const out: string[] = negative ? [NUMBER_PROMPTS.minus] : [];
  const first = out.length;
  let zeroPending = false;
  let groupSaid = false;
  for (let i = 0; i < digits.length; i++) {
    const pos = digits.length - 1 - i;
    const d = Number(digits[i]);
    if (d === 0) {
      if (out.length > first) zeroPending = true;
    } else {
      if (zeroPending) out.push(NUMBER_PROMPTS.digits[0]);
      zeroPending = false;
      const leadingTen = d === 1 && pos % 4 === 1 && out.length === first;
      if (!leadingTen) out.push(NUMBER_PROMPTS.digits[d]!);
      const unit = POSITION_UNITS[pos % 4];
      if (unit) out.push(unit);
      groupSaid = true;
    }
    if (pos % 4 === 0 && pos > 0) {
      if (groupSaid) out.push(...GROUP_UNITS[pos / 4]!);
      groupSaid = false;
    }
  }
  return out;
}

/** Digit by digit (an account or phone number); null when it has keys without a prompt (* #). */
export function mandarinDigits(value: string): string[] | null {
  if (!/^[0-9]{1,64}$/.test(value)) return null;
  return [...value].map((d) => NUMBER_PROMPTS.digits[Number(d)]!);
}
