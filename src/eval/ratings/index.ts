export * from "./battles.js";
export * from "./online-elo.js";
export * from "./bradley-terry.js";
export * from "./bootstrap.js";
export * from "./win-rates.js";
export * from "./leaderboard.js";
export * from "./statistics.js";
export { createSeededRandom } from "./seeded-random.js";
export * from "./win-fraction.js";
