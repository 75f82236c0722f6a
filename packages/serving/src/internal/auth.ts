import { createHash, timingSafeEqual } from "node:crypto";

/**
 * A bearer-token check that takes the same time whatever the guess: both sides are hashed to 32
 * bytes first, so neither the comparison nor the length check leaks how close a guess was.
 */
export function createTokenCheck(
  token: string,
): (authorization: string | undefined) => boolean {
  const expected = createHash("sha256").update(token).digest();
  return (authorization) => {
    const match = /^Bearer (.+)$/i.exec(authorization ?? "");
    const given = createHash("sha256")
      .update(match?.[1] ?? "")
      .digest();
    return timingSafeEqual(given, expected) && match !== null;
  };
}
