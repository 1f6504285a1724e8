/**
 * Whether importing an optional package failed only because it is absent. Node reports this with a code; Vite's SSR
 * loader (under vitest) throws a plain Error "Could not resolve \"pkg\" imported by …" without one, depending on whether
 * the importer was pre-bundled — both mean "not installed", not "installed but broken". Every optional import of the
 * toolkit (libtensorflow, the native addon, Dawn, onnxruntime-node) asks this one function.
 */
export function isModuleNotFound(err: unknown, pkg: string): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return true;
  const message = String((err as Error | undefined)?.message ?? '');
  return message.startsWith(`Could not resolve "${pkg}"`) || message.startsWith(`Cannot find module '${pkg}'`) || message.startsWith(`Cannot find package '${pkg}'`);
}
