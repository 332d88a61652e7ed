/**
 * @module
 * keel/mlflow (Node): MLflow's tracking REST API (2.0) served by keel, as one `node:http`
 * request handler. Training code that logs with MLflow (`mlflow.log_metric`, `autolog()`, the
 * npm `mlflow` client) records into keel's tracker by pointing `MLFLOW_TRACKING_URI` at it.
 * See docs/mlflow.md.
 */

export {
  createMlflowHandler,
  type MlflowHandler,
  type MlflowHandlerOptions,
} from './mlflow/handler.js';
export type { MlflowKeel } from './mlflow/route.js';
