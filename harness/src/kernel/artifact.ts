export interface KernelArtifact {
  /** The bzImage as given. */
  image: string;
  /** /lib/modules/<release> or equivalent: modules.dep and the .ko files. */
  modulesDir: string;
  /** A kbuild tree to build out-of-tree modules against. */
  buildDir: string;
  release: string;
}
