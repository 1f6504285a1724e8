/**
 * Named registries (timm / big_vision style): each package keeps one explicit `registry.ts` mapping
 * variant names such as `resnet50-ibn-a` or `afem-vector` to builders. Registering a name twice and
 * asking for an unknown name are both errors that say exactly what exists.
 */

/** A string-keyed registry of values of one kind (builders, presets, …). */
export interface Registry<T> {
  /** The kind of thing registered (used in error messages), e.g. `'backbone'`. */
  readonly kind: string;
  /** Add `value` under `name`; throws if `name` is invalid or already registered. Returns `value`. */
  register(name: string, value: T): T;
  /** The value registered under `name`; throws listing the known names if there is none. */
  get(name: string): T;
  /** Whether `name` is registered. */
  has(name: string): boolean;
  /** All registered names, sorted. */
  list(): string[];
}

/** Registry names: lower-case letters, digits, `.` and `_` in segments separated by single hyphens. */
const NAME_PATTERN = /^[a-z0-9][a-z0-9._]*(-[a-z0-9._]+)*$/;

/** Throws unless `name` is a valid registry name (kebab-case-ish: `resnet50-ibn-a`, `vit-b.16`). */
export function assertRegistryName(kind: string, name: unknown): asserts name is string {
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    throw new Error(
      `Invalid ${kind} name ${JSON.stringify(name)}: expected lower-case kebab-case ` +
        `(letters, digits, '.', '_' separated by single '-'), e.g. 'resnet50-ibn-a'`,
    );
  }
}

/**
 * Create an empty registry for values of one `kind`.
 *
 * @example
 * const backbones = createRegistry<BackboneBuilder>('backbone');
 * backbones.register('resnet50', buildResnet50);
 * backbones.get('resnet5'); // Error: Unknown backbone 'resnet5'. Known backbones: resnet50
 */
export function createRegistry<T>(kind: string): Registry<T> {
  if (typeof kind !== 'string' || kind.trim() === '') throw new Error('createRegistry: kind must be a non-empty string');
  const entries = new Map<string, T>();
  const list = (): string[] => [...entries.keys()].sort();
  return {
    kind,
    register(name: string, value: T): T {
      assertRegistryName(kind, name);
      if (entries.has(name)) throw new Error(`Duplicate ${kind} '${name}': a ${kind} with this name is already registered`);
      entries.set(name, value);
      return value;
    },
    get(name: string): T {
      if (!entries.has(name)) {
        const known = list();
        const listing = known.length === 0 ? '(none registered)' : known.join(', ');
        throw new Error(`Unknown ${kind} '${String(name)}'. Known ${kind} names: ${listing}`);
      }
      return entries.get(name) as T;
    },
    has: (name: string): boolean => entries.has(name),
    list,
  };
}
