/**
 * `@temporalio/workflow` as the release after the deprecation sees it: the replay test bundles
 * the transfer workflow with this module in the SDK's place, so every `deprecatePatch` call is
 * gone, exactly as if the next release deleted the lines. It proves that release replays what
 * this one records, and that it could not replay what the `patched` release recorded.
 */
// The SDK's entry by its file path: the bundler aliases only the bare `@temporalio/workflow`
// (to this module), so this import does not point back here.
export * from '@temporalio/workflow/lib/index.js';

/** Removed: the call records nothing and decides nothing. */
export function deprecatePatch(_patchId: string): void {}
