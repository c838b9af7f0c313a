import { Command, CommanderError } from 'commander';
import { ConfigError, loadConfig } from '@meridian/config';
import { MigrationHistoryError, UnknownFlagError } from '@meridian/db';
import { UsageError, type CliIo } from './io';
import { registerClaimsCommands } from './commands/claims';
import { registerDbCommands } from './commands/db';
import { registerFlagCommands } from './commands/flags';
import { registerGeoCommands } from './commands/geo';
import { registerOrgMoveCommands } from './commands/org-move';
import { registerStatusCommand } from './commands/status';
import { noProgressDeadline } from './command-deadline';
import { checkServices, namedNetworkFailure, neededDatabases, ServiceUnavailableError } from './services';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export function buildProgram(io: CliIo): Command {
  const program = new Command('meridian')
    .description('operate a Meridian site: migrations, flags, status, Geo replication')
    .showHelpAfterError()
    .configureOutput({ writeOut: io.out, writeErr: io.err });
  registerDbCommands(program, io);
  registerFlagCommands(program, io);
  registerStatusCommand(program, io);
  registerGeoCommands(program, io);
  registerClaimsCommands(program, io);
  registerOrgMoveCommands(program, io);
  // Before any command touches a database: each one it needs must answer within CLI_TIMEOUT_MS,
  // or the command ends at once naming it (a host that accepts and never answers must not hang us).
  program.hook('preAction', async (_program, action) => {
    // `geo registries …` talk to the site API (its own timeout), never to a database
    if (action.parent?.name() === 'registries') return;
    const config = loadConfig(io.env);
    let group: Command = action;
    while (group.parent && group.parent !== program) group = group.parent;
    await checkServices(neededDatabases(config, group.name()), config.CLI_TIMEOUT_MS);
  });
  // Every (sub)command throws instead of exiting so run() decides the exit code.
  const override = (command: Command): void => {
    command.exitOverride();
    command.commands.forEach(override);
  };
  override(program);
  return program;
}

/** Runs the CLI and returns its exit code: 0 ok, 1 failure, 2 bad usage (with usage printed). */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv.length === 0) {
    io.err(buildProgram(io).helpInformation());
    return EXIT_USAGE;
  }
  // A command that stops making progress is ended: three times CLI_TIMEOUT_MS without a step done
  // (short commands take no steps, so that is their whole time). Long work (claims verify, geo
  // double-check) reports each step through io.progress, so it runs as long as it moves. Exempt:
  // --watch and a waiting `geo registries … --all` (their own --timeout) and `db migrate` (one
  // DDL statement may rightly take minutes; the services were checked before it started).
  const budgetMs = argv.includes('--watch') || (argv.includes('registries') && argv.includes('--all')) || isDbMigrate(argv) ? undefined : commandBudgetMs(io);
  const watchdog = noProgressDeadline(budgetMs, `\`meridian ${argv.filter((a) => !a.startsWith('-')).join(' ')}\``);
  const commandIo: CliIo = Object.create(io, { progress: { value: watchdog.progress } }) as CliIo;
  const program = buildProgram(commandIo);
  try {
    await Promise.race([program.parseAsync(argv, { from: 'user' }), watchdog.expired]);
    return commandIo.exitCode ?? EXIT_OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT_OK;
      // commander.help (a bare group like `meridian db`) prints help and means "tell me more"
      return error.code === 'commander.help' ? EXIT_USAGE : EXIT_USAGE;
    }
    if (error instanceof ConfigError || error instanceof UnknownFlagError || error instanceof UsageError) {
      io.err(`meridian: ${error.message}\n`);
      return EXIT_USAGE;
    }
    if (error instanceof MigrationHistoryError || error instanceof ServiceUnavailableError) {
      io.err(`meridian: ${error.message}\n`);
      return EXIT_FAILURE;
    }
    const named = networkFailure(error, io);
    if (named) {
      io.err(`meridian: ${named}\n`);
      return EXIT_FAILURE;
    }
    io.err(`meridian: ${(error as Error).message ?? String(error)}\n`);
    return EXIT_FAILURE;
  } finally {
    watchdog.stop();
  }
}

function isDbMigrate(argv: readonly string[]): boolean {
  const words = argv.filter((a) => !a.startsWith('-'));
  return words[0] === 'db' && words[1] === 'migrate';
}

function networkFailure(error: unknown, io: CliIo): string | undefined {
  try {
    return namedNetworkFailure(error, neededDatabases(loadConfig(io.env), 'db'));
  } catch {
    return namedNetworkFailure(error, []);
  }
}

function commandBudgetMs(io: CliIo): number | undefined {
  try {
    return loadConfig(io.env).CLI_TIMEOUT_MS * 3;
  } catch {
    return undefined; // the command reports the bad configuration itself
  }
}
