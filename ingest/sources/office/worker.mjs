// Worker-thread entry for file extraction. The project runs TypeScript through tsx, which a
// worker does not inherit from a programmatic register() in the parent: register it here.
import { register } from 'tsx/esm/api';

register();
await import('./worker-main.ts');
