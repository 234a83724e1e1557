/**
 * Whether a Python environment that could not be made fails `npm install`:
 * only under CI, whose tests run the real mlx-lm. A developer without Python
 * still gets the edge stack (`npm start` needs no Python).
 */

/** True when `CI` (the variable CI services set) is set and not "", "false" or "0". */
export function missingPythonFailsInstall(ci: string | undefined): boolean {
  return ci !== undefined && !['', 'false', '0'].includes(ci.trim().toLowerCase());
}
