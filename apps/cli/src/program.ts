import { Command, CommanderError } from 'commander';
import { ConfigError } from '@meridian/config';
import { MigrationHistoryError, UnknownFlagError } from '@meridian/db';
import { UsageError, type CliIo } from './io';
import { registerClaimsCommands } from './commands/claims';
import { registerDbCommands } from './commands/db';
import { registerFlagCommands } from './commands/flags';
import { registerGeoCommands } from './commands/geo';
import { registerStatusCommand } from './commands/status';

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
  const program = buildProgram(io);
  if (argv.length === 0) {
    io.err(program.helpInformation());
    return EXIT_USAGE;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT_OK;
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
    if (error instanceof MigrationHistoryError) {
      io.err(`meridian: ${error.message}\n`);
      return EXIT_FAILURE;
    }
    io.err(`meridian: ${(error as Error).message ?? String(error)}\n`);
    return EXIT_FAILURE;
  }
}
