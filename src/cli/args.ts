/**
 * A small, strict command-line parser: every flag is declared with a type; an unknown flag, a
 * missing value or a malformed number is an error that names the flag.
 */
export type FlagType = "string" | "int" | "number" | "boolean" | "list";

export interface FlagSpec {
  type: FlagType;
  /** One line for --help. */
  help: string;
  default?: string | number | boolean | string[];
  /** Allowed values for a string flag. */
  choices?: readonly string[];
}

export type ParsedFlags = Record<string, string | number | boolean | string[] | undefined>;

export class UsageError extends Error {}

export function parseFlags(argv: readonly string[], specs: Record<string, FlagSpec>, usage: string): ParsedFlags {
  const out: ParsedFlags = {};
  for (const [k, s] of Object.entries(specs)) if (s.default !== undefined) out[k] = s.default;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--help" || arg === "-h") {
      const lines = Object.entries(specs).map(([k, s]) => `  --${k}${s.type === "boolean" ? "" : " <" + (s.choices ? s.choices.join("|") : s.type) + ">"}  ${s.help}${s.default !== undefined ? ` (default ${JSON.stringify(s.default)})` : ""}`);
      console.log(`${usage}\n${lines.join("\n")}`);
      process.exit(0);
    }
    if (!arg.startsWith("--")) throw new UsageError(`unexpected argument "${arg}"\n${usage}`);
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2);
    const spec = specs[name];
    if (!spec) throw new UsageError(`unknown flag --${name}; valid flags: ${Object.keys(specs).map((k) => "--" + k).join(", ")}`);
    if (spec.type === "boolean") {
      // Only the bare flag, =true and =false: "--dry-run=yes" must not silently mean false.
      if (inline !== undefined && inline !== "true" && inline !== "false") throw new UsageError(`flag --${name} is true or false (or bare --${name}), got "${inline}"`);
      out[name] = inline === undefined || inline === "true";
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined || (inline === undefined && value.startsWith("--"))) throw new UsageError(`flag --${name} needs a value`);
    if (spec.type === "int" || spec.type === "number") {
      const n = Number(value);
      // An integer is plain decimal digits ("1e3" and "0x10" are not) and exact in a double.
      if (value.trim() === "" || !Number.isFinite(n) || (spec.type === "int" && (!/^-?\d+$/.test(value) || !Number.isSafeInteger(n)))) {
        throw new UsageError(`flag --${name} needs ${spec.type === "int" ? "an integer" : "a number"}, got "${value}"${spec.type === "int" ? ` (decimal digits, at most ${Number.MAX_SAFE_INTEGER} in size)` : ""}`);
      }
      out[name] = n;
    } else if (spec.type === "list") {
      out[name] = [...((out[name] as string[] | undefined) ?? []), value];
    } else {
      if (spec.choices && !spec.choices.includes(value)) throw new UsageError(`flag --${name}: "${value}" is not one of ${spec.choices.join(", ")}`);
      out[name] = value;
    }
  }
  return out;
}

/** Run a CLI main: usage errors and thrown errors print one clear line and exit 1/2. */
export function runMain(main: () => Promise<void>): void {
  main().catch((e: unknown) => {
    if (e instanceof UsageError) {
      console.error(`error: ${e.message}`);
      process.exit(2);
    }
    console.error(`error: ${(e as Error).message ?? e}`);
    if (process.env.SPURIOUS_DEBUG) console.error((e as Error).stack);
    process.exit(1);
  });
}
