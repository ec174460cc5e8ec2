/**
 * Character-level tokenizer with a fixed, versioned vocabulary.
 *
 * Every string the world produces (prompts, code traces, language traces, answer statements)
 * is spelled from this alphabet. A checkpoint stores VOCAB_VERSION and the alphabet, so a model
 * trained on one vocabulary is never silently decoded with another.
 */
export const VOCAB_VERSION = 1;

export const PAD = 0;
export const BOS = 1;
export const EOS = 2;
const SPECIALS = ["<pad>", "<bos>", "<eos>"];

/** The printable alphabet, in id order after the three specials. Append only, and bump the version. */
export const ALPHABET = " 0123456789abcdefghijklmnopqrstuvwxyz+-*=?:;#,.\\{}()";

export const VOCAB: readonly string[] = [...SPECIALS, ...ALPHABET];
export const VOCAB_SIZE = VOCAB.length;

const ids = new Map<string, number>();
ALPHABET.split("").forEach((ch, i) => ids.set(ch, i + SPECIALS.length));

/** Token ids of `text` (no BOS/EOS added). An unknown character is an error naming it. */
export function encode(text: string): number[] {
  const out = new Array<number>(text.length);
  for (let i = 0; i < text.length; i++) {
    const id = ids.get(text[i]);
    if (id === undefined) {
      throw new Error(`cannot encode character ${JSON.stringify(text[i])} (code ${text.charCodeAt(i)}) at position ${i} of ${JSON.stringify(text)}: not in vocabulary v${VOCAB_VERSION}`);
    }
    out[i] = id;
  }
  return out;
}

/** Text of token ids; stops at the first EOS, skips BOS and PAD. */
export function decode(tokens: ArrayLike<number>): string {
  let s = "";
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t === EOS) break;
    if (t === BOS || t === PAD) continue;
    const ch = VOCAB[t];
    if (ch === undefined) throw new Error(`cannot decode token id ${t}: vocabulary v${VOCAB_VERSION} has ${VOCAB_SIZE} ids`);
    s += ch;
  }
  return s;
}
