/**
 * Services plugins provide to each other. Plugins extend it by declaration merging:
 * @example
 * declare module '@qwickapps/server' {
 *   interface Services { cache: Cache }
 * }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Services {}

/** Events on the app's bus. Plugins extend it by declaration merging, like `Services`. */
export interface AppEvents {
  'app:ready': { url: string };
  'app:shutdown': { reason: string };
  'plugin:state': { name: string; state: string; error?: string };
}

type ServiceKey = keyof Services & string;

/** A typed registry of services, one per app. */
export class ServiceRegistry {
  private readonly services = new Map<string, { value: unknown; provider: string }>();

  provide<K extends ServiceKey>(key: K, value: Services[K], provider = 'app'): void {
    const existing = this.services.get(key);
    if (existing) {
      throw new Error(
        `Service "${key}" is already provided by plugin "${existing.provider}"; "${provider}" cannot provide it again.`,
      );
    }
    this.services.set(key, { value, provider });
  }

  /** The service, or a clear error naming what is missing. */
  get<K extends ServiceKey>(key: K): Services[K] {
    const entry = this.services.get(key);
    if (!entry) {
      throw new Error(
        `Service "${key}" is not provided. Register the plugin that provides it and list it in "dependencies".`,
      );
    }
    return entry.value as Services[K];
  }

  tryGet<K extends ServiceKey>(key: K): Services[K] | undefined {
    return this.services.get(key)?.value as Services[K] | undefined;
  }

  has(key: string): boolean {
    return this.services.has(key);
  }

  list(): { key: string; provider: string }[] {
    return [...this.services].map(([key, entry]) => ({ key, provider: entry.provider }));
  }
}

type Listener<T> = (payload: T) => void;

/** A small typed event bus; listener errors are isolated from the emitter. */
export class EventBus {
  private readonly listeners = new Map<string, Set<Listener<never>>>();

  constructor(
    private readonly onListenerError: (event: string, error: unknown) => void = () => undefined,
  ) {}

  on<E extends keyof AppEvents & string>(event: E, listener: Listener<AppEvents[E]>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  emit<E extends keyof AppEvents & string>(event: E, payload: AppEvents[E]): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        (listener as Listener<AppEvents[E]>)(payload);
      } catch (error) {
        this.onListenerError(event, error);
      }
    }
  }
}
