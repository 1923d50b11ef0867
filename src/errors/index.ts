export * from "./camelid-error.js";
export * from "./classes.js";
export * from "./http.js";
export { closestName, editDistance } from "./closest-name.js";
