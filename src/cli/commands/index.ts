// Command table: one line per command; the module itself loads only when the command runs.
import { registerCommand } from "../main.js";

void registerCommand;
