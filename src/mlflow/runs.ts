// MLflow's run routes over keel's tracker (create, get, update, delete, restore, logging, search, metric history).
import type { MlflowRoute } from './route.js';

/** The run routes. */
export const runRoutes: readonly MlflowRoute[] = [];
