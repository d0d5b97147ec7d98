/** X-Ray annotation values (searchable in the X-Ray console: `annotation.recipe = "line-7"`). */
export type Annotations = Readonly<Record<string, string | number | boolean | null | undefined>>;

/** What a use case adds to its invocation's trace. */
export interface Trace {
  /** Annotates the invocation's handler subsegment; null and undefined values are left out. */
  annotate(annotations: Annotations): void;
}

/** Annotates nothing (tracing off, or a use case called outside a function). */
export const noTrace: Trace = { annotate: () => undefined };
