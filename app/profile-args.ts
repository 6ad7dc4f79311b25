// IM_CPU_PROF_DIR=<dir>: every service process (and bench child) writes a V8 CPU profile there when it exits.
// Node refuses --cpu-prof in NODE_OPTIONS, so the launchers pass it on the command line.
export function profileArgs(): string[] {
  const dir = process.env.IM_CPU_PROF_DIR;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}
