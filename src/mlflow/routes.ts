// The route table of the MLflow endpoint: each family of routes registers here in one line.
import { artifactRoutes } from './artifacts.js';
import { experimentRoutes } from './experiments.js';
import { registryRoutes } from './registry-routes.js';
import type { MlflowRoute } from './route.js';
import { runRoutes } from './runs.js';

/** Every route the MLflow endpoint serves. */
export const mlflowRoutes: readonly MlflowRoute[] = [
  ...experimentRoutes,
  ...runRoutes,
  ...artifactRoutes,
  ...registryRoutes,
];
