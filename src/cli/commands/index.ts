// Command table: one line per command; the module itself loads only when the command runs.
import { registerCommand } from "../main.js";

registerCommand("generate", "generate a completion from a prompt or a chat message", () => import("./generate.js"));
registerCommand("chat", "interactive chat with streaming replies, /system /reset /prompt /format", () => import("./chat.js"));
