export * from "./radar-chart.js";
export * from "./win-rate-bars.js";
export * from "./interval-plot.js";
export * from "./heat-map.js";
export * from "./interval-bars.js";
