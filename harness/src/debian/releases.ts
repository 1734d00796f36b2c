// The Debian releases sockvm knows, the kernel series each carries, and Debian's archive.
import { UsageError } from '../util/errors.js';

export const DEBIAN_RELEASES = ['bullseye', 'bookworm', 'trixie', 'sid'] as const;
export type DebianRelease = (typeof DEBIAN_RELEASES)[number];

/** The kernel series each release carries, for `debian:6.12`-style names. */
export const RELEASE_SERIES: Record<DebianRelease, string> = {
  bullseye: '5.10',
  bookworm: '6.1',
  trixie: '6.12',
  sid: '7.2',
};

export const DEFAULT_MIRROR = 'http://deb.debian.org/debian';
export const DEFAULT_SECURITY_MIRROR = 'http://deb.debian.org/debian-security';
export const DEFAULT_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

/** `bookworm`, `debian:bookworm`, `6.1` or `debian:6.1` → the release; anything else is a UsageError. */
export function parseDebianRelease(name: string): DebianRelease {
  const bare = name.startsWith('debian:') ? name.slice('debian:'.length) : name;
  if ((DEBIAN_RELEASES as readonly string[]).includes(bare)) return bare as DebianRelease;
  const bySeries = (Object.entries(RELEASE_SERIES) as [DebianRelease, string][]).find(([, s]) => s === bare);
  if (bySeries) return bySeries[0];
  const known = DEBIAN_RELEASES.map((r) => `${r} (${RELEASE_SERIES[r]})`).join(', ');
  throw new UsageError(`unknown Debian release '${name}': use one of ${known}`);
}
