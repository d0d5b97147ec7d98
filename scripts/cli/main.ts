import { Command, InvalidArgumentError, Option } from "commander";
import { version } from "../../package.json";
import { calibrateCommand, compareCommand, fitCommand, inferCommand, modelsCommand, statusCommand } from "./commands";
import { CliError, EXIT } from "./exitCodes";

function number(name: string) {
  return (value: string) => {
    const parsed = Number(value);
    if (!Number.isFinite(parsed)) throw new InvalidArgumentError(`${name} must be a number`);
    return parsed;
  };
}

function whole(name: string) {
  return (value: string) => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError(`${name} must be a whole number >= 1`);
    return parsed;
  };
}

const program = new Command()
  .name("patchcore-inspect")
  .description("The inspection API from the command line: fit a ROI on good images, calibrate, inspect images.")
  .version(version)
  .option("--url <url>", "the service's base URL", process.env.INSPECTION_URL ?? "http://127.0.0.1:3000")
  .option("--api-key <key>", "API key (x-api-key), for deployed stages that require one", process.env.INSPECTION_API_KEY)
  .option("--recipe <id>", "recipe id (default: the service's default recipe)")
  .addHelpText(
    "after",
    `\nExit status: ${EXIT.OK} done (infer: every image passed), ${EXIT.DEFECT} infer found a defect, ${EXIT.USAGE} usage error, ${EXIT.SERVICE} the service answered an error or could not be reached, ${EXIT.JOB_FAILED} a job failed.`,
  )
  .exitOverride();

const model = (command: Command) =>
  command.requiredOption("--role <id>", "role_id").requiredOption("--roi <id>", "roi_id").option("--model-key <key>", "model_key (default: the roi)");

model(
  program
    .command("fit <folder>")
    .description("upload the folder's PNG/JPEG images to the ROI's OK dataset (straight to S3) and fit from it; waits for the job of a large fit"),
)
  .requiredOption("--mm-per-px <mm>", "millimetres per ROI pixel", number("--mm-per-px"))
  .option("--memory-fit", "keep every patch (no coreset)")
  .option("--replace", "clear the OK dataset first (else the images are added to it)")
  .option("--append", "teach these good images to the active version (or --model-version): a new version whose memory keeps every row of it")
  .option("--model-version <n>", "with --append: the version to append to", whole("--model-version"))
  .option("--candidate", "do not serve the new version yet (activate it later: models activate <n>)")
  .action((folder: string, options) => run(() => fitCommand(folder, { ...program.opts(), ...options })));

model(program.command("infer <target>").description("inspect an image, or every image of a folder: one JSON line each; exit 1 if any is defective"))
  .option("--mm-per-px <mm>", "millimetres per ROI pixel (default: the value stored at fit)", number("--mm-per-px"))
  .option("--shape <json>", 'ROI shape, e.g. {"kind":"circle","cx":100,"cy":100,"r":80}')
  .option("--out <folder>", "write an overlay PNG per image here (the image | its heatmap on the model's fixed scale, regions outlined)")
  .option("--model-version <n>", "score with this version (default: the active one)", whole("--model-version"))
  .action((target: string, options) => run(() => inferCommand(target, { ...program.opts(), ...options })));

model(program.command("calibrate").description("calibrate the threshold: from the stored dataset (default), or from --ok/--ng folders"))
  .option("--ok <folder>", "good images to score (instead of the stored dataset)")
  .option("--ng <folder>", "defective images to score")
  .option("--mm-per-px <mm>", "millimetres per ROI pixel (default: the value stored at fit)", number("--mm-per-px"))
  .option("--score-percentile <p>", "percentile of the OK scores (default 99)", number("--score-percentile"))
  .option("--area-mm2-thr <mm2>", "smallest defect region kept, mm² (default 1)", number("--area-mm2-thr"))
  .option("--model-version <n>", "score and calibrate this version (default: the active one)", whole("--model-version"))
  .addOption(
    new Option("--rule <rule>", "how the threshold is chosen: old (the old backend's percentile rule), false_alarm_rate (with --target), f1 (needs NG images)")
      .choices(["old", "false_alarm_rate", "f1"])
      .default("old"),
  )
  .option("--target <rate>", "with --rule false_alarm_rate: the largest share of good parts that may be flagged, e.g. 0.005", number("--target"))
  .option("--curve", "from the stored dataset: add every threshold's counts and the ROC points (curve) to the answer")
  .action((options) => run(() => calibrateCommand({ ...program.opts(), ...options })));

model(
  program
    .command("compare <target>")
    .description(
      "score an image, or every image of a folder, with two versions side by side (a candidate against the live one); exit 1 if their verdicts differ",
    ),
)
  .requiredOption("--versions <a,b>", "the two versions, e.g. 5,4", (value: string) => {
    const parts = value.split(",").map((v) => whole("--versions")(v.trim()));
    if (parts.length !== 2) throw new InvalidArgumentError("--versions takes two versions, e.g. 5,4");
    if (parts[0] === parts[1]) throw new InvalidArgumentError("--versions takes two different versions, e.g. 5,4");
    return parts as [number, number];
  })
  .option("--mm-per-px <mm>", "millimetres per ROI pixel (default: the value stored at fit)", number("--mm-per-px"))
  .action((target: string, options) => run(() => compareCommand(target, { ...program.opts(), ...options })));

model(
  program
    .command("models <action> [version]")
    .description("a model's versions: list (newest first), activate <version> (serve it; a rollback), delete <version> (not the active one)"),
).action((action: string, version: string | undefined, options) =>
  run(async () => {
    if (!["list", "activate", "delete"].includes(action))
      throw new CliError(`models: unknown action ${JSON.stringify(action)} (list, activate, delete)`, EXIT.USAGE);
    if (action === "list" && version !== undefined) throw new CliError("models list takes no version (it lists them all)", EXIT.USAGE);
    const n = version === undefined ? undefined : whole("version")(version);
    if (action !== "list" && n === undefined) throw new CliError(`models ${action} needs a version number`, EXIT.USAGE);
    return modelsCommand(action, n, { ...program.opts(), ...options });
  }),
);

program
  .command("status")
  .description("the service's health; with --role/--roi what is stored for a model; with --job a job's state")
  .option("--role <id>", "role_id")
  .option("--roi <id>", "roi_id")
  .option("--model-key <key>", "model_key")
  .option("--job <id>", "a job id")
  .action((options) => run(() => statusCommand({ ...program.opts(), ...options })));

async function run(command: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await command();
  } catch (error) {
    if (error instanceof CliError || error instanceof InvalidArgumentError) {
      process.stderr.write(`patchcore-inspect: ${error.message}\n`);
      process.exitCode = error instanceof CliError ? error.code : EXIT.USAGE;
    } else {
      process.stderr.write(`patchcore-inspect: ${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = EXIT.SERVICE;
    }
  }
}

try {
  program.parse(process.argv);
} catch (error) {
  // commander's own exits (help, version, usage errors) have already printed their message
  const code = (error as { exitCode?: number; code?: string }).code;
  process.exitCode = code === "commander.helpDisplayed" || code === "commander.version" ? EXIT.OK : EXIT.USAGE;
}
