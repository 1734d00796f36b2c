// What junit.xml is validated against: Jenkins' junit-4.xsd (dtkit, the ancestor of the xunit
// plugin's junit-10.xsd), which scripts/setup fetches into the cache from the npm package that
// ships it, with the one change junit-10 made that we use; and junit-10.xsd itself when
// SOCKVM_JUNIT_XSD names a copy (no npm or Debian package ships that one).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheRoot } from '../src/util/paths.js';

export const jenkinsJunit4 = (): string => join(cacheRoot(), 'schemas', 'jenkins-junit-4.xsd');

// junit-4 has <skipped> as text only; junit-10 (and Jenkins, GitLab, pytest) give it a message and
// a type, which is where we put the reason of a skip.
const JUNIT4_SKIPPED = '<xs:element name="skipped" type="xs:string"/>';
const JUNIT10_SKIPPED =
  '<xs:element name="skipped"><xs:complexType mixed="true"><xs:attribute name="type" type="xs:string"/><xs:attribute name="message" type="xs:string"/></xs:complexType></xs:element>';

/** junit-4.xsd with junit-10's <skipped>, in a temporary directory; undefined if the file is not the one expected. */
function junit4WithJunit10Skipped(dir: string): string | undefined {
  const text = readFileSync(jenkinsJunit4(), 'utf8');
  if (text.split(JUNIT4_SKIPPED).length !== 2) return undefined;
  const file = join(dir, 'junit-4-with-junit-10-skipped.xsd');
  writeFileSync(file, text.replace(JUNIT4_SKIPPED, JUNIT10_SKIPPED));
  return file;
}

/** xmllint's verdict on `files`: well-formed, and valid against each schema; a problem is a line each. */
export function validateJUnit(files: string[]): { checked: string[]; problems: string[] } {
  const problems: string[] = [];
  const checked: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'sockvm-xsd-'));
  try {
    const schemas: string[] = [];
    if (!existsSync(jenkinsJunit4())) problems.push(`${jenkinsJunit4()} is missing: bash scripts/setup fetches it`);
    else {
      const junit4 = junit4WithJunit10Skipped(dir);
      if (junit4) schemas.push(junit4);
      else problems.push(`${jenkinsJunit4()}: not the junit-4.xsd expected (no text-only <skipped>)`);
    }
    if (process.env.SOCKVM_JUNIT_XSD) schemas.push(process.env.SOCKVM_JUNIT_XSD);
    for (const xsd of schemas) {
      const run = spawnSync('xmllint', ['--noout', '--schema', xsd, ...files], { encoding: 'utf8' });
      if (run.error) problems.push('xmllint missing: scripts/setup installs libxml2-utils');
      else if (run.status !== 0) problems.push(`xmllint --schema ${xsd}:\n${run.stderr.slice(0, 2000)}`);
      else checked.push(xsd === process.env.SOCKVM_JUNIT_XSD ? xsd : "Jenkins' junit-4.xsd (with junit-10's <skipped>)");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { checked, problems };
}
