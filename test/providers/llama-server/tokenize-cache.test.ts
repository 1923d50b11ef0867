import { describe, expect, it } from "vitest";
import { TokenizeCache } from "../../../src/providers/llama-server/tokenize-cache.js";

describe("TokenizeCache", () => {
  it("keeps texts per special flag, within its character budget, least recently used out first; a failed lookup is asked again", async () => {
    const cache = new TokenizeCache(96);
    let asked = 0;
    const lookup = (ids: number[]) => () => {
      asked++;
      return Promise.resolve(ids);
    };
    expect(await cache.tokenize("aaaa", false, lookup([1]))).toEqual([1]);
    expect(await cache.tokenize("aaaa", true, lookup([2]))).toEqual([2]);
    expect(await cache.tokenize("aaaa", false, lookup([9]))).toEqual([1]);
    expect(asked).toBe(2);
    // Callers get their own copy: changing one does not change the cache.
    (await cache.tokenize("aaaa", false, lookup([9]))).push(5);
    expect(await cache.tokenize("aaaa", false, lookup([9]))).toEqual([1]);
    // "aaaa" (just used) stays; the special one, least recently used, goes when the budget is passed.
    for (let index = 0; index < 18; index++) await cache.tokenize(`b${index}`.padEnd(4, "x"), false, lookup([index]));
    expect(await cache.tokenize("aaaa", false, lookup([9]))).toEqual([1]);
    asked = 0;
    expect(await cache.tokenize("aaaa", true, lookup([3]))).toEqual([3]);
    expect(asked).toBe(1);
    // A text over a sixteenth of the budget is not kept.
    await cache.tokenize("y".repeat(6), false, lookup([4]));
    await cache.tokenize("y".repeat(6), false, lookup([4]));
    expect(asked).toBe(3);
    await expect(cache.tokenize("zz", false, () => Promise.reject(new Error("gone")))).rejects.toThrow("gone");
    expect(await cache.tokenize("zz", false, lookup([7]))).toEqual([7]);
  });
});
