#!/usr/bin/env node
/**
 * `herald`: the operator's command line, on the same admin API as the console. Exit codes:
 * 0 ok, 1 failure, 2 usage error, 3 not found. See the README's CLI reference.
 */
import { Command, CommanderError } from 'commander';
import { buildCommands } from './commands';
import { EXIT, NotFoundError, UsageError } from './cli-context';

const NOT_FOUND_CODES = new Set(['GROUP_NOT_FOUND', 'TOPIC_NOT_FOUND', 'TRANSACTION_NOT_FOUND']);
const USAGE_CODES = new Set(['INVALID_OPTIONS', 'INVALID_TOPIC_NAME', 'INVALID_MESSAGE', 'MESSAGE_TOO_LARGE', 'INVALID_FILTER_EXPRESSION']);

/** The exit code for what a command threw, after printing it on stderr. */
function failed(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  if (error instanceof UsageError) {
    process.stderr.write(`herald: ${error.message}\n`);
    return EXIT.usage;
  }
  if (error instanceof NotFoundError) {
    process.stderr.write(`herald: ${error.message}\n`);
    return EXIT.notFound;
  }
  const code = typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : null;
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`herald: ${code !== null ? `${code}: ` : ''}${message}\n`);
  if (code !== null && NOT_FOUND_CODES.has(code)) return EXIT.notFound;
  if (code !== null && USAGE_CODES.has(code)) return EXIT.usage;
  return EXIT.failure;
}

export async function run(argv: string[]): Promise<number> {
  const program = new Command('herald')
    .description('Operate a Herald broker: topics, groups, messages, offsets, dead letters, transactions, schema')
    .option('--url <connectionString>', 'the broker database (default: HERALD_BROKER_URL, then DATABASE_URL)')
    .option('--schema <name>', "the broker's schema", 'herald')
    .option('--json', 'print JSON (stable shapes, see the README)')
    .option('--ndjson', 'print one JSON object per line')
    .option('-y, --yes', 'do not ask before destructive commands (required without a terminal)')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)');
  buildCommands(program);
  for (const command of program.commands) {
    command.exitOverride();
    for (const sub of command.commands) sub.exitOverride();
  }
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    return failed(error);
  }
}

if (require.main === module) {
  // `herald ... | head`: a closed pipe ends the output, not with a stack trace
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  void run(process.argv).then((code) => {
    process.exitCode = code;
  });
}
