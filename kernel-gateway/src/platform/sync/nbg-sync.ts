/**
 * Entry point of the `nbg-sync` bundle (scripts/build.mjs → kernel-gateway/dist/nbg-sync.cjs).
 */
import { main } from './cli';

main();
