import { describe, expect, it } from "vitest";
import { chooseThreads, defaultThreadsFor, parseCpuQuota, parsePhysicalCores, readCpuFacts, usableCores, type ReadText } from "../../src/spec/cpu-threads.js";

const files = (entries: Record<string, string>): ReadText => (path) => entries[path];
const cpuinfo = (pairs: [number, number][]) =>
  pairs.map(([pkg, core], index) => `processor\t: ${index}\nphysical id\t: ${pkg}\ncore id\t\t: ${core}\nflags\t\t: avx2\n`).join("\n");

describe("default threads from the measured cores", () => {
  it("leaves one core free for the in-process engine, up to 8, and gives llama-server every usable core", () => {
    expect([1, 2, 4, 16, 64].map((logical) => chooseThreads("node-llama-cpp", { logical }))).toEqual([1, 1, 3, 8, 8]);
    expect([1, 2, 4, 16, 64].map((logical) => chooseThreads("llama-server", { logical }))).toEqual([1, 2, 4, 16, 64]);
  });

  it("gives node-llama-cpp every usable core over a local (OpenMP) source build, and keeps the spare core for the prebuilt binary", () => {
    expect([1, 2, 4, 16, 64].map((logical) => chooseThreads("node-llama-cpp", { logical }, "localBuild"))).toEqual([1, 2, 4, 16, 64]);
    expect([1, 2, 4, 16, 64].map((logical) => chooseThreads("node-llama-cpp", { logical }, "prebuilt"))).toEqual([1, 1, 3, 8, 8]);
    expect(chooseThreads("node-llama-cpp", { logical: 64, physical: 32, quotaCpus: 4 }, "localBuild")).toBe(4);
    expect(defaultThreadsFor("node-llama-cpp", { logical: 2 }, "localBuild")).toBe(2);
    expect(defaultThreadsFor("node-llama-cpp", { logical: 2 })).toBe(1);
    // llama-server's rule does not depend on node-llama-cpp's binary.
    expect(chooseThreads("llama-server", { logical: 2 }, "prebuilt")).toBe(2);
  });

  it("counts physical cores under SMT and a container's CPU quota, never below one", () => {
    expect(usableCores({ logical: 16, physical: 8 })).toBe(8);
    expect(usableCores({ logical: 64, quotaCpus: 2.5 })).toBe(2);
    expect(usableCores({ logical: 64, physical: 32, quotaCpus: 0.5 })).toBe(1);
    expect(chooseThreads("node-llama-cpp", { logical: 64, physical: 32, quotaCpus: 4 })).toBe(3);
    expect(chooseThreads("llama-server", { logical: 16, physical: 8 })).toBe(8);
  });

  it("reads cgroup v2 and v1 quotas, and none where unlimited or absent", () => {
    expect(parseCpuQuota(files({ "/sys/fs/cgroup/cpu.max": "200000 100000\n" }))).toBe(2);
    expect(parseCpuQuota(files({ "/sys/fs/cgroup/cpu.max": "max 100000\n" }))).toBeUndefined();
    expect(parseCpuQuota(files({ "/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "150000\n", "/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n" }))).toBe(1.5);
    expect(parseCpuQuota(files({ "/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1\n", "/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n" }))).toBeUndefined();
    expect(parseCpuQuota(files({}))).toBeUndefined();
  });

  it("counts distinct (package, core) pairs in /proc/cpuinfo", () => {
    expect(parsePhysicalCores(cpuinfo([[0, 0], [0, 1], [0, 0], [0, 1]]))).toBe(2);
    expect(parsePhysicalCores(cpuinfo([[0, 0], [1, 0]]))).toBe(2);
    expect(parsePhysicalCores("processor\t: 0\nBogoMIPS\t: 50\n")).toBeUndefined();
    expect(parsePhysicalCores(undefined)).toBeUndefined();
  });

  it("puts the facts together from injected files", () => {
    const read = files({ "/proc/cpuinfo": cpuinfo([[0, 0], [0, 1], [0, 0], [0, 1]]), "/sys/fs/cgroup/cpu.max": "100000 100000" });
    expect(readCpuFacts(read, 4)).toEqual({ logical: 4, physical: 2, quotaCpus: 1 });
    expect(chooseThreads("llama-server", readCpuFacts(read, 4))).toBe(1);
    expect(readCpuFacts(files({}), 3)).toEqual({ logical: 3 });
  });
});
