import { mix32 } from "./prng.ts";

const DIGIT_SPACE = 10_000;
/** 26 ** 5 */
const LETTER_SPACE = 11_881_376;

/** How many distinct `NNNN-AAAAA` ids exist: the hard ceiling on the user count. */
export const USER_ID_SPACE = DIGIT_SPACE * LETTER_SPACE;

const ROUNDS = 4;

const DIGIT_STRINGS: readonly string[] = Array.from(
  { length: DIGIT_SPACE },
  (_, i) => String(i).padStart(4, "0"),
);

/**
 * Maps user indices to lab-style ids (`^[0-9]{4}-[A-Z]{5}$`) through a keyed Feistel network
 * over the two halves of the id. Each round only adds a function of the other half, so the
 * mapping is a bijection: ids are unique by construction, without a million-entry set to check
 * collisions against, and still look random instead of counting up.
 */
export class UserIdMapper {
  private readonly keys: Uint32Array;

  /** `keys` needs `2 * ROUNDS` words; take them from {@link streamKeys} calls on the seed. */
  constructor(keys: Uint32Array) {
    if (keys.length < 2 * ROUNDS)
      throw new RangeError(`need ${2 * ROUNDS} keys`);
    this.keys = keys;
  }

  idFor(index: number): string {
    let digits = index % DIGIT_SPACE;
    let letters = Math.floor(index / DIGIT_SPACE);
    for (let r = 0; r < ROUNDS; r++) {
      digits =
        (digits + (mix32(letters ^ (this.keys[r] ?? 0)) % DIGIT_SPACE)) %
        DIGIT_SPACE;
      letters =
        (letters +
          (mix32(digits ^ (this.keys[ROUNDS + r] ?? 0)) % LETTER_SPACE)) %
        LETTER_SPACE;
    }
    const l0 = letters % 26;
    const l1 = Math.floor(letters / 26) % 26;
    const l2 = Math.floor(letters / 676) % 26;
    const l3 = Math.floor(letters / 17_576) % 26;
    const l4 = Math.floor(letters / 456_976);
    return (
      DIGIT_STRINGS[digits]! +
      "-" +
      String.fromCharCode(65 + l4, 65 + l3, 65 + l2, 65 + l1, 65 + l0)
    );
  }
}
