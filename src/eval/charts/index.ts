export * from "./radar-chart.js";
export * from "./win-rate-bars.js";
