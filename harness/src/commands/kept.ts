// `sockvm ssh-config` and `sockvm stop`: reaching and ending the guests `sockvm run --keep` left up.
import { allKept, findKept, guestAlive, sshConfig } from '../access/kept.js';
import { stopKept } from '../access/stop.js';
import { parseCommandArgs } from '../util/args.js';
import { UsageError } from '../util/errors.js';

export const SSH_CONFIG_USAGE = `Usage: sockvm ssh-config [--run <dir>|latest]

Prints OpenSSH Host stanzas for guests kept by 'sockvm run --keep': HostName 127.0.0.1, the
forwarded port, User root, the run's key, and a known-hosts file holding the guest's pinned host
key (StrictHostKeyChecking yes). "sockvm" (and "sockvm-guest1") reach guest 1, "sockvm-guest2"
guest 2. Use it with any OpenSSH tool:
  npm run -s sockvm -- ssh-config > sockvm.ssh; ssh -F sockvm.ssh sockvm
  scp -F sockvm.ssh file sockvm:/root/; rsync -e 'ssh -F sockvm.ssh' -a dir/ sockvm:/root/dir/
  npm run -s sockvm -- ssh-config | ssh -F /dev/stdin sockvm uname -r
(not ssh -F <(...): OpenSSH closes inherited descriptors above 2 before reading its config)
  --run <dir>   a run's results directory (results/<run-id>, results/latest); default: the
                guests kept most recently`;

export const STOP_USAGE = `Usage: sockvm stop [--run <dir>|latest] [--all]

Powers off guests kept by 'sockvm run --keep' (poweroff over SSH; QEMU killed when it does not
go within 5 s) and removes their state.
  --run <dir>   the kept run in this results directory; default: the one kept most recently
  --all         every kept run`;

export async function sshConfigCommand(args: string[], out: (line: string) => void): Promise<number> {
  const { values } = parseCommandArgs('sockvm ssh-config', args, { run: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    out(SSH_CONFIG_USAGE);
    return 0;
  }
  const state = await findKept(values.run);
  const dead = state.guests.filter((g) => !guestAlive(g)).map((g) => g.name);
  // Stanzas for a guest that is gone would only fail later, less clearly.
  if (dead.length) process.stderr.write(`sockvm ssh-config: ${dead.join(', ')} of run ${state.runId} no longer running (sockvm stop clears it)\n`);
  sshConfig(state).forEach((l) => out(l));
  return dead.length === state.guests.length ? 1 : 0;
}

export async function stopCommand(args: string[], out: (line: string) => void): Promise<number> {
  const { values } = parseCommandArgs('sockvm stop', args, { run: { type: 'string' }, all: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    out(STOP_USAGE);
    return 0;
  }
  if (values.all && values.run !== undefined) throw new UsageError('sockvm stop: --all stops every kept run; --run names one: give one of them');
  const states = values.all ? await allKept() : [await findKept(values.run)];
  if (!states.length) out('no kept guests');
  for (const s of states) for (const line of await stopKept(s)) out(`${s.runId} (${s.target}) ${line}`);
  return states.every((s) => s.guests.every((g) => !guestAlive(g))) ? 0 : 1;
}
