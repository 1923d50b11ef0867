import { describe, expect, it } from "vitest";
import { DecodeLockstep, decodeLockstepFor } from "../../../src/providers/local/decode-lockstep.js";

/** Runs fake generations (already producing tokens) of the given lengths through a lockstep; records step order. */
async function runMembers(lockstep: DecodeLockstep, tokensPerMember: number[], log: string[]): Promise<void> {
  for (const _ of tokensPerMember) lockstep.join();
  await Promise.all(
    tokensPerMember.map(async (tokens, member) => {
      try {
        for (let step = 0; step < tokens; step++) {
          // A token takes a member-specific number of microtask hops, as real decodes finish at different times.
          for (let hop = 0; hop < member * 3; hop++) await Promise.resolve();
          log.push(`${member}:${step}`);
          if (step === tokens - 1) break;
          const wait = lockstep.arrive(member);
          if (wait) await wait;
        }
      } finally {
        lockstep.leave();
      }
    }),
  );
}

describe("DecodeLockstep", () => {
  it("lets a lone generation go on without waiting", () => {
    const lockstep = new DecodeLockstep();
    lockstep.join();
    expect(lockstep.arrive(0)).toBeUndefined();
    expect(lockstep.arrive(0)).toBeUndefined();
  });

  it("holds every member until all have their token, so each step starts together", async () => {
    const lockstep = new DecodeLockstep();
    const log: string[] = [];
    await runMembers(lockstep, [4, 4, 4], log);
    // Step k of every member comes before step k+1 of any member, despite different speeds.
    const stepOf = (entry: string) => Number(entry.split(":")[1]);
    for (let index = 1; index < log.length; index++) expect(stepOf(log[index])).toBeGreaterThanOrEqual(stepOf(log[index - 1]));
    expect(log).toHaveLength(12);
    expect(lockstep.stats()).toEqual({ members: 0, waiting: 0 });
  });

  it("releases the others when a member leaves early (finished, aborted or failed)", async () => {
    const lockstep = new DecodeLockstep();
    const log: string[] = [];
    await runMembers(lockstep, [2, 6, 5], log);
    expect(log.filter((entry) => entry.startsWith("1:"))).toHaveLength(6);
    expect(log.filter((entry) => entry.startsWith("2:"))).toHaveLength(5);
    expect(lockstep.stats()).toEqual({ members: 0, waiting: 0 });
  });

  it("makes the waiting members wait for one that joins mid-way, then steps all together", async () => {
    const lockstep = new DecodeLockstep();
    lockstep.join();
    lockstep.join();
    const first = lockstep.arrive(0);
    expect(first).toBeInstanceOf(Promise);
    lockstep.join(); // a new generation got its first token
    expect(lockstep.arrive(1)).toBeInstanceOf(Promise); // 2 of 3 arrived
    let released = false;
    void first!.then(() => (released = true));
    await Promise.resolve();
    expect(released).toBe(false);
    await lockstep.arrive(2); // the last one releases everyone, itself included
    await first;
    expect(released).toBe(true);
  });

  it("never leaves a member waiting when the only other member leaves", async () => {
    const lockstep = new DecodeLockstep();
    lockstep.join();
    lockstep.join();
    const wait = lockstep.arrive(0)!;
    lockstep.leave();
    await expect(Promise.race([wait.then(() => "released"), new Promise((resolve) => setTimeout(() => resolve("stuck"), 200))])).resolves.toBe("released");
  });

  it("releases the members in ascending slot order, whatever order they arrived in", async () => {
    const lockstep = new DecodeLockstep();
    const arrivals = [5, 2, 7, 0, 3];
    for (const _ of arrivals) lockstep.join();
    const resumed: number[] = [];
    await Promise.all(arrivals.map(async (slot) => {
      await lockstep.arrive(slot);
      resumed.push(slot);
    }));
    expect(resumed).toEqual([0, 2, 3, 5, 7]);
  });

  it("keeps one lockstep per context object", () => {
    const a = {};
    const b = {};
    expect(decodeLockstepFor(a)).toBe(decodeLockstepFor(a));
    expect(decodeLockstepFor(a)).not.toBe(decodeLockstepFor(b));
  });
});
