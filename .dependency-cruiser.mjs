// dependency-cruiser's configuration: the layering of docs/architecture.md's folder table as
// rules (tools/architecture/layering.mjs). `npm run lint` runs it over src/.
import { layeringRules, readLayerTable } from './tools/architecture/layering.mjs';

export default {
  ...layeringRules(readLayerTable()),
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(dist|node_modules)/' },
  },
};
